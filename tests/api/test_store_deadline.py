"""A busy store answers 503 with Retry-After within the API's store deadline (a setting),
never a hang past the client's timeout: SQLite with its write lock held by another
connection, PostgreSQL with the tables locked by another session."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from api_stack import Api

DEADLINE = 1.0
#: What a client would wait at most; every answer must come well within it.
CLIENT_TIMEOUT = 10.0


@asynccontextmanager
async def store_locked(url: str) -> AsyncIterator[None]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1], timeout=5, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the write lock, held until rollback
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    base, _, schema = url.partition("?search_path=")
    pg = await asyncpg.connect(
        base.replace("postgresql+asyncpg://", "postgresql://"),
        server_settings={"search_path": schema},
    )
    try:
        async with pg.transaction():
            await pg.execute("LOCK TABLE contacts, events IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await pg.close()


@pytest.mark.store_deadline(DEADLINE)
async def test_a_locked_store_answers_503_within_the_deadline(api: Api, api_db: str) -> None:
    async def write(method: str, path: str, body: object) -> httpx.Response:
        # Without the deadline these wait for the lock, which outlives them: the client's
        # timeout (10x the deadline) then fails the test.
        return await api.client.request(
            method, path, headers=api.auth, json=body, timeout=CLIENT_TIMEOUT
        )

    writes: list[tuple[str, str, dict[str, object]]]
    writes = [("PUT", f"/v1/contacts/dl-{i}", {"first_name": "Al"}) for i in range(6)]
    writes += [("POST", "/v1/events", api.event(f"dl-{i}", customer=f"dl-{i}")) for i in range(4)]
    async with store_locked(api_db):
        answers = await asyncio.gather(*(write(m, p, b) for m, p, b in writes))
    for (method, path, _), answer in zip(writes, answers, strict=True):
        assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
        assert answer.headers["Retry-After"] == "1"
    # The lock released, the same requests go through.
    for method, path, body in writes:
        answer = await api.client.request(method, path, headers=api.auth, json=body)
        assert answer.status_code in (200, 202), (method, path, answer.text)

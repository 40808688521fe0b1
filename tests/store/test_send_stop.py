"""A send's handover and its run's stop are one atomic step in the send log: every key ends
either handed over (the stop finds it ``sending``) or stopped (the handover is refused) —
never both, never neither. Held to the same contract: the in-memory log, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests_store_url import database_url

from orchestrator.engine.sendlog import InMemorySendLog, SendLog, SendRecord, stopped
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.sendlog import SqlSendLog

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def entry(key: str, status: str, reason: str = "") -> SendRecord:
    customer = key.split("/")[1]
    return SendRecord(
        key=key,
        customer_id=customer,
        scenario="cart",
        step="steps.1",
        channel="email",
        template="cart/reminder",
        status=status,
        at=T0,
        reason=reason,
        run=key.rsplit("/", 3)[0],
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def logs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SendLog, SendLog]]:
    """Two handles on one log (on SQL: two engines, as a worker's send and another's stop)."""
    if request.param == "memory":
        log = InMemorySendLog()
        yield log, log
        return
    async for url in database_url(request.param, tmp_path):
        engines = [make_engine(url), make_engine(url)]
        yield SqlSendLog(sessions(engines[0])), SqlSendLog(sessions(engines[1]))
        for e in engines:
            await e.dispose()


async def test_stop_before_the_handover_refuses_it(logs: tuple[SendLog, SendLog]) -> None:
    send, run = logs
    key = "cart/ann/r1/g0/steps.1/email"
    assert await send.reserve(entry(key, "reserved"), []) is None
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert stopped(held) and held.reason == "stopped_by_goal"
    assert await send.hand_over(entry(key, "sending")) is False
    again = await send.get(key)
    assert again is not None and stopped(again)  # the refused handover wrote nothing


async def test_stop_before_the_send_began_holds_against_its_reservation(
    logs: tuple[SendLog, SendLog],
) -> None:
    send, run = logs
    key = "cart/bob/r2/g0/steps.1/email"
    assert stopped(await run.stop(entry(key, "skipped", "stopped_by_exit")))
    assert await send.reserve(entry(key, "reserved"), []) is None
    assert await send.hand_over(entry(key, "sending")) is False
    held = await send.get(key)
    assert held is not None and (held.status, held.reason) == ("skipped", "stopped_by_exit")


async def test_handover_first_means_the_stop_finds_it_sent(logs: tuple[SendLog, SendLog]) -> None:
    send, run = logs
    key = "cart/cat/r3/g0/steps.1/email"
    assert await send.reserve(entry(key, "reserved"), []) is None
    assert await send.hand_over(entry(key, "sending")) is True
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert held.status == "sending" and not stopped(held)
    await send.record(replace(entry(key, "sent"), provider_id="<m1@shop>"))
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert (held.status, held.provider_id) == ("sent", "<m1@shop>")


async def test_racing_handovers_and_stops_each_end_one_way(logs: tuple[SendLog, SendLog]) -> None:
    """Forty sends of three customers (run keys shared by name across customers) race their
    stops: each key is exactly one of handed over / stopped, as both sides saw it."""
    send, run = logs
    keys = [f"cart/{c}/r{i % 7}/g0/steps.1/email" for i in range(40) for c in ("ann", "bob")][:40]
    for key in keys:
        assert await send.reserve(entry(key, "reserved"), []) is None

    async def one(key: str, stop_first: bool) -> tuple[bool, SendRecord]:
        go = send.hand_over(entry(key, "sending"))
        halt = run.stop(entry(key, "skipped", "stopped_by_goal"))
        if stop_first:
            held, handed = await asyncio.gather(halt, go)
        else:
            handed, held = await asyncio.gather(go, halt)
        return handed, held

    results = await asyncio.gather(*(one(k, i % 2 == 0) for i, k in enumerate(keys)))
    for key, (handed, held) in zip(keys, results, strict=True):
        final = await send.get(key)
        assert final is not None
        if handed:
            assert held.status == "sending" and final.status == "sending", key
        else:
            assert stopped(held) and stopped(final), key
    outcomes = {handed for handed, _ in results}
    assert outcomes, "no key raced"

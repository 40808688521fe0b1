"""Freshly migrated databases for tests: SQLite always, PostgreSQL when OMNI_TEST_POSTGRES_URL
is set (as .ci/run does), each test in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrator.store.db import make_engine
from orchestrator.store.migrate import upgrade_async

PG_URL = os.environ.get("OMNI_TEST_POSTGRES_URL", "")
PG_SKIP = "PostgreSQL tests need OMNI_TEST_POSTGRES_URL (set by .ci/run); skipped here"


async def migrated_sqlite(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'omni.db'}"
    await upgrade_async(url)
    return url


async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly migrated database URL; the PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'omni.db'}"
        await upgrade_async(url)
        yield url
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

"""A migrated database per test, on SQLite and (when OMNI_TEST_POSTGRES_URL is set, as .ci/run
does) on PostgreSQL in a schema of its own; and ``stores`` (tests/contract_stores.py): every
engine protocol the store implements, in memory and in SQL on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract_stores import KINDS, Stores, build
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests_store_url import database_url

from orchestrator.store.db import make_engine, sessions


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async for url in database_url(request.param, tmp_path):
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    yield sessions(engine)
    await engine.dispose()


@pytest.fixture(params=KINDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    async for made in build(request.param, tmp_path):
        yield made

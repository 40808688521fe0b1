"""Fixtures for fault tests: a Temporal dev server of the test's own (it gets stopped and
continued without disturbing other tests), and a freshly migrated store of either kind
(PostgreSQL when OMNI_TEST_POSTGRES_URL is set, as in CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faults.processes import pid_listening_on
from tests_store_url import database_url

from orchestrator.api.serve import free_port
from orchestrator.dev.devserver import start_dev_server


@pytest.fixture
async def temporal() -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    env = await start_dev_server(port=port)
    async with env:
        yield f"127.0.0.1:{port}", pid_listening_on(port)


@pytest.fixture
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Parametrize it indirectly with "sqlite" or "postgresql"."""
    async for url in database_url(getattr(request, "param", "sqlite"), tmp_path):
        yield url

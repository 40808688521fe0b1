"""Fixtures for fault tests: a Temporal dev server of the test's own (it gets stopped and
continued without disturbing other tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faults.processes import pid_listening_on

from orchestrator.api.serve import free_port
from orchestrator.dev.devserver import start_dev_server


@pytest.fixture
async def temporal() -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    env = await start_dev_server(port=port)
    async with env:
        yield f"127.0.0.1:{port}", pid_listening_on(port)

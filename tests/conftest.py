"""Shared fixtures: one time-skipping Temporal server per test session (a fresh task queue
per test keeps tests apart), and the project's scenario folders."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.dev.binaries import test_server
from orchestrator.dev.devserver import start_dev_server

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TEMPLATES = ROOT / "templates"


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server())
    async with env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (search attributes registered), shared by the session."""
    env = await start_dev_server()
    async with env:
        yield env


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI (``CI=true``) a skipped test fails the run: CI has PostgreSQL and Chromium,
    so a skip there means a check that silently did not happen."""
    if os.environ.get("CI") != "true" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        names = ", ".join(sorted({r.nodeid for r in skipped})[:20])
        if reporter is not None:
            reporter.write_line(f"CI=true: {len(skipped)} skipped test(s) fail the run: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

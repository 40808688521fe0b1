"""Each ``omni`` command imports what it needs and nothing of the worker: the modules a command
loaded, as ``python -X importtime`` lists them (``omni send-event`` against a running API is
tests/api/test_cli_send.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What runs workflows, serves HTTP or talks to providers: no scenario check needs them.
RUNTIME = (
    "worker",
    "orchestrator.app",
    "temporalio",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "twilio",
    "telegram",
    "aiohttp",
    "aiosmtplib",
    "pywebpush",
)


def imported(args: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestrator.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in prefixes or m.startswith(prefixes))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DATABASE_URL"))}
    return {**clean, "OMNI_DATA_DIR": str(tmp_path), "OMNI_FREQUENCY_CAPS": "3 per 1d"}


@pytest.mark.parametrize(
    ("args", "needs", "never"),
    [
        # Scenarios, templates and the configuration's caps: no runtime at all.
        (["validate", "scenarios"], ("jinja2", "pydantic_settings"), RUNTIME),
        # The format's schema: not even the settings.
        (["schema"], ("orchestrator.language.schema",), (*RUNTIME, "pydantic_settings")),
        (["send-event", "--help"], (), (*RUNTIME, "pydantic_settings", "jinja2")),
        # The store's schema: SQLAlchemy, never Temporal, the web framework or a provider.
        (
            ["db", "upgrade"],
            ("sqlalchemy", "alembic"),
            tuple(p for p in RUNTIME if p != "sqlalchemy"),
        ),
    ],
)
def test_a_command_imports_what_it_needs_and_no_more(
    args: list[str], needs: tuple[str, ...], never: tuple[str, ...], env: dict[str, str]
) -> None:
    modules = imported(args, env)
    assert [n for n in needs if n not in modules] == []
    assert loaded(modules, never) == [], f"omni {' '.join(args)} imported these"

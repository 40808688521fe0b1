"""Real processes for fault tests: a Temporal dev server of the test's own (it gets stopped
and continued), and API or worker processes started from ``worker.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pid_listening_on(port: int) -> int:
    """The dev server process (a child of the test) that listens on ``port``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"start-dev" in c for c in cmd) and str(port).encode() in b" ".join(cmd):
            return int(proc.name)
    raise AssertionError(f"no dev server on {port}")


def omni_process(
    entry: str, env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``worker.run`` or ``worker.run_api`` in a process of its own, configured by ``env``;
    its output is appended to ``log`` (kept for a failed test) or dropped."""
    code = f"import asyncio, worker; asyncio.run(worker.{entry}(worker.config_from_env()))"
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]

"""Real processes for fault tests: a Temporal dev server of the test's own (it gets stopped
and continued), and API or worker processes started as ``omni api`` and ``omni worker``
start them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import httpx

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


Entry = Literal["run_worker", "run_api", "run_codec_server"]


def omni_process(
    entry: Entry, env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``run_worker`` or ``run_api`` (``orchestrator.app.processes``) in a process of its own,
    configured by ``env``; its output is appended to ``log`` (kept for a failed test) or
    dropped."""
    code = (
        "import asyncio; from orchestrator.app import processes; "
        "from orchestrator.config.settings import load_settings; "
        f"asyncio.run(processes.{entry}(load_settings()))"
    )
    from orchestrator.app import processes

    # A misspelt entry would only show as a child that died at once, in a log nobody reads.
    assert callable(getattr(processes, entry, None)), f"no entry {entry} in app.processes"
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


async def until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait for an API process to answer /health (it must not die meanwhile)."""
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(200):
            assert proc.poll() is None, "the API process died"
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the API did not come up")


def worker_env(
    address: str, queue: str, store_url: str, folder: Path, **extra: str
) -> dict[str, str]:
    """What an Omni process of a fault test needs: Temporal, its queue, the store, the
    scenario and template folders under ``folder``; ``extra`` adds channel settings."""
    return {
        "OMNI_TEMPORAL_ADDRESS": address,
        "OMNI_TASK_QUEUE": queue,
        "DATABASE_URL": store_url,
        "OMNI_SCENARIOS_DIR": str(folder / "scenarios"),
        "OMNI_TEMPLATES_DIR": str(folder / "templates"),
        "OMNI_DATA_DIR": str(folder / "data"),
        **extra,
    }


def smtp_env(port: int) -> dict[str, str]:
    return {
        "OMNI_SMTP_HOST": "127.0.0.1",
        "OMNI_SMTP_PORT": str(port),
        "OMNI_SMTP_SECURITY": "none",
    }


def kill_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL whatever still runs (a failed test must not leave workers behind)."""
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)


def pid_owning_connection(local_port: int, pids: Iterable[int]) -> int | None:
    """Which of ``pids`` holds the loopback TCP socket bound to ``local_port`` (a client's
    end of a connection, as the server sees it in the peer address), from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(f"socket:[{cols[9]}]")
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    return None

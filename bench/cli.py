"""How quick ``omni send-event`` is: import time and wall time of ``--help`` and of a real
event posted to a running stack.

    python bench/cli.py                 # starts 'omni dev' on free ports in a temporary folder
    OMNI_API_URL=http://127.0.0.1:8000 OMNI_API_KEY=omni_... python bench/cli.py

Import times come from ``python -X importtime`` (the sum of the top-level imports, and the
slowest modules by cumulative time); wall times are the best and the median of a few runs of
the ``omni`` console script. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OMNI = str(Path(sys.executable).parent / "omni")
RUNS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def import_profile(args: list[str], env: dict[str, str]) -> tuple[float, list[tuple[int, str]]]:
    """Total import time (s) of ``omni ARGS`` and its slowest top-level imports (µs, name)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestrator.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    top: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith("  "):  # a top-level import: its cumulative time counts once
            top.append((int(cumulative), name.strip()))
    total = sum(us for us, _ in top) / 1e6
    return total, sorted(top, reverse=True)[:5]


def wall(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Best and median wall time (s) of ``omni ARGS``."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run([OMNI, *args], cwd=ROOT, env=env, capture_output=True, timeout=120)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"omni {' '.join(args)} failed: {done.stdout!r} {done.stderr!r}")
    return min(times), statistics.median(times)


def report(what: str, args: list[str], env: dict[str, str]) -> None:
    total, slowest = import_profile(args, env)
    best, median = wall(args, env)
    print(f"{what}")
    print(f"  imports   {total * 1000:7.0f} ms  (python -X importtime, top-level sum)")
    for us, name in slowest:
        print(f"            {us / 1000:7.0f} ms  {name}")
    print(f"  wall      {best * 1000:7.0f} ms best, {median * 1000:.0f} ms median of {RUNS}")


#: send-event draws a new event id each run: every call is a new event, not a duplicate.
SEND = ["send-event", "bench_ping", "--customer", "bench-1"]


def start_dev(folder: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DATABASE_URL"))}
    env.update(
        OMNI_DATA_DIR=str(folder),
        OMNI_API_PORT=str(free_port()),
        OMNI_DEV_TEMPORAL_PORT=str(free_port()),
        OMNI_DEV_UI_PORT=str(free_port()),
        OMNI_DEV_SMTP_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    dev = subprocess.Popen(
        [OMNI, "dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert dev.stdout is not None
    seen = []
    for line in dev.stdout:
        seen.append(line)
        if "Ctrl-C stops everything" in line:
            return dev, env
    raise SystemExit("omni dev did not start:\n" + "".join(seen))


def main() -> None:
    env = dict(os.environ)
    report("omni send-event --help", ["send-event", "--help"], env)
    if os.environ.get("OMNI_API_URL"):
        report("omni send-event (running API)", SEND, env)
        return
    folder = Path(tempfile.mkdtemp(prefix="omni-bench-cli-"))
    dev, env = start_dev(folder)
    try:
        report("omni send-event (omni dev on loopback)", SEND, env)
    finally:
        dev.send_signal(signal.SIGINT)
        try:
            dev.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.communicate()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.runlog import Run

    with Run("cli", {"api": bool(os.environ.get("OMNI_API_URL"))}).recording():
        main()

"""The benches' results log: every run of every bench appends one JSON line to
``bench/results/<bench>.jsonl`` — nothing is dropped or replaced.

A line holds what a reader needs to judge the figures: the git commit measured (and whether
the tree had uncommitted changes), the date, the machine's CPU count and load average when the
run started and ended (``os.getloadavg``), the bench's arguments, its summary figures and every
round's raw figures. ``bench/report.py`` prints medians with the full range per figure and
commit; docs/scaling.md quotes what it generates (tests/unit/test_bench_report.py keeps them
equal).

Also the small process readings the benches share: CPU seconds of this process and of another
one by pid (``/proc``), and the dev server's pid.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
_TICKS = os.sysconf("SC_CLK_TCK")

Figures = dict[str, float]


def git_commit() -> tuple[str, str]:
    """(HEAD's commit, a hash of the uncommitted changes to tracked files or "") — the code
    that was measured. Runs on different uncommitted states are reported apart."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", ".", ":!bench/results"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", "unknown"
    return head, hashlib.sha256(diff).hexdigest()[:12] if diff else ""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass
class Run:
    """One run of a bench, written to its log by ``save`` (at the end, or when it fails)."""

    bench: str
    args: dict[str, Any]
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    load_start: list[float] = field(default_factory=load)
    rounds: list[Figures] = field(default_factory=list)
    figures: Figures = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    #: The code measured, read when the run starts (files edited while it runs do not count).
    code: tuple[str, str] = field(default_factory=git_commit)

    def round(self, figures: Figures) -> None:
        self.rounds.append({k: _num(v) for k, v in figures.items()})

    def set(self, **figures: float) -> None:
        self.figures.update({k: _num(v) for k, v in figures.items()})

    def line(self) -> dict[str, Any]:
        commit, changes = self.code
        return {
            "bench": self.bench,
            "commit": commit,
            "dirty": bool(changes),
            "changes": changes,
            "date": self.started,
            "ended": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_start": self.load_start,
            "load_end": load(),
            "args": self.args,
            "figures": self.figures,
            "rounds": self.rounds,
            "notes": self.notes,
        }

    @contextmanager
    def recording(self, folder: Path = RESULTS) -> Iterator[Run]:
        """For benches whose figures are their printed lines: everything printed while the
        block runs is kept in the run's ``output`` note, and the run is saved at the end —
        also when the bench fails, with the error."""
        tee = _Tee(sys.stdout)
        sys.stdout = tee
        try:
            yield self
        except BaseException as exc:
            self.notes["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            sys.stdout = tee.out
            self.notes["output"] = "".join(tee.kept)
            self.save(folder)

    def save(self, folder: Path = RESULTS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.bench}.jsonl"
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(self.line(), sort_keys=True) + "\n")
        print(f"results appended to {path}")
        return path


class _Tee(io.TextIOBase):
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.kept: list[str] = []

    def write(self, text: str) -> int:
        self.kept.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def _num(value: float) -> float:
    return round(float(value), 6)


def read(bench: str, folder: Path = RESULTS) -> list[dict[str, Any]]:
    path = folder / f"{bench}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- CPU readings ------------------------------------------------------------------------


def own_cpu() -> float:
    """CPU seconds (user + system) this process has used, all its threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used; 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name may hold spaces: fields count from after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` now (VmRSS), MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_named(prefix: str, parent: int | None = None) -> list[int]:
    """Pids of the child processes of ``parent`` (this process) whose name starts with
    ``prefix`` (the dev server the SDK started is ``temporal``)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and name.startswith(prefix):
            found.append(int(entry.name))
    return found


class Clock:
    """Wall time and CPU seconds of this process and of some others, between two readings."""

    def __init__(self, pids: dict[str, int] | None = None) -> None:
        self.pids = pids or {}
        self.t0 = time.perf_counter()
        self.cpu0 = own_cpu()
        self.others0 = {k: cpu_of(p) for k, p in self.pids.items()}

    def read(self) -> tuple[float, float, dict[str, float]]:
        """(seconds, this process's CPU seconds, each other process's CPU seconds)."""
        return (
            time.perf_counter() - self.t0,
            own_cpu() - self.cpu0,
            {k: cpu_of(p) - self.others0[k] for k, p in self.pids.items()},
        )

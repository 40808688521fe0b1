"""``--profile`` for the benches: py-spy samples a process (all its threads, native Temporal
core frames left out) while a phase runs, and the samples are summed by where the time goes.

    with Spy(pid, "bench/results/profile-api.txt") as spy: ...   # the phase
    print(spy.summary())

py-spy's raw output (one line per stack, frames root first, then the sample count) is kept
beside the results log so a reader can make a flame graph of it (flamegraph.pl, speedscope).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_SPY = Path(sys.executable).parent / "py-spy"


def area(path: str) -> str:
    """Which library (or package of ours, with its sub-package) a source file belongs to;
    py-spy names files relative to their import root (``temporalio/worker/_workflow.py``)."""
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    head, _, rest = path.partition("/")
    if head in ("orchestrator", "channels", "bench", "tests") and rest:
        return f"{head}/{rest.split('/', 1)[0].removesuffix('.py')}"
    return head.removesuffix(".py") or "?"


class Spy:
    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Spy:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(_SPY),
                "record",
                "--pid",
                str(self.pid),
                "--format",
                "raw",
                "--rate",
                str(self.rate),
                "--nonblocking",
                "--gil",  # only the thread holding the GIL: CPU spent in Python, not waits
                "--output",
                str(self.out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # attached before the phase starts
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        self.proc.wait(timeout=60)

    def stacks(self) -> Counter[tuple[str, ...]]:
        found: Counter[tuple[str, ...]] = Counter()
        if not self.out.exists():
            return found
        for line in self.out.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                found[tuple(stack.split(";"))] += int(count)
        return found

    def summary(self, top: int = 20) -> str:
        """Self time by area (library or package) and by function, and the share of samples
        under some functions worth naming (the request handler, the Temporal client)."""
        stacks = self.stacks()
        total = sum(stacks.values())
        if not total:
            return f"no samples in {self.out} (py-spy needs ptrace rights over pid {self.pid})"
        by_area: Counter[str] = Counter()
        by_func: Counter[str] = Counter()
        for stack, n in stacks.items():
            m = _FRAME.match(stack[-1])
            func, path = (m["func"], m["file"]) if m else (stack[-1], "")
            by_area[area(path)] += n
            by_func[f"{func} ({area(path)})"] += n
        lines = [f"{total} samples at {self.rate}/s ({self.out})", "self time by area:"]
        lines += [f"  {n / total:6.1%}  {name}" for name, n in by_area.most_common(top)]
        lines.append("self time by function:")
        lines += [f"  {n / total:6.1%}  {name}" for name, n in by_func.most_common(top)]
        return "\n".join(lines)

    def inclusive(self, needles: dict[str, str]) -> dict[str, float]:
        """Share of samples whose stack holds a frame matching each needle (substring)."""
        stacks = self.stacks()
        total = sum(stacks.values()) or 1
        return {
            label: sum(n for s, n in stacks.items() if any(needle in f for f in s)) / total
            for label, needle in needles.items()
        }

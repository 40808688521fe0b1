"""Resource limits for marketer templates and conditions, and the budget one render spends.

Jinja2's sandbox stops escapes (no dunder attributes, no unsafe callables) but not size or
time: ``'a' * 10**9``, ``9 ** (9 ** 9)`` or two nested ``range(99999)`` loops exhaust a worker.
Every operation that can make a value bigger than its inputs is checked *before* it runs (a
single C-level operation cannot be interrupted), and the budget checks the clock as the render
proceeds, so a runaway render stops itself at the deadline.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError


@dataclass(frozen=True)
class Limits:
    #: Largest integer a power or a product may make, in bits (4096 bits: ~1,233 digits).
    max_int_bits: int = 4096
    #: Largest string or collection one operation may make (characters plus items, nested).
    max_size: int = 1_000_000
    #: Loop iterations in one render, all loops together.
    max_iterations: int = 100_000
    #: Characters one render may output, every block of the message together.
    max_output: int = 1_000_000
    #: Wall-clock seconds for one render.
    max_seconds: float = 5.0


#: Templates: one message.
TEMPLATE_LIMITS = Limits()
#: Conditions and computed times: small expressions, evaluated for every event.
EXPRESSION_LIMITS = Limits(max_seconds=1.0)


class LimitExceeded(SecurityError):
    """A template or expression went past one of its limits; ``limit`` names it."""

    def __init__(self, limit: str, detail: str) -> None:
        self.limit = limit
        super().__init__(f"{limit} limit exceeded: {detail}")


class Budget:
    """What one render may still spend. Lives in a context variable for the render's duration
    (each worker thread has its own)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.iterations = 0
        self.output = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                "time", f"rendering took longer than {self.limits.max_seconds:g} seconds"
            )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise LimitExceeded("loop", f"more than {self.limits.max_iterations:,} loop iterations")
        if not self.iterations & 63:
            self.tick()

    def emit(self, size: int) -> None:
        self.output += size
        if self.output > self.limits.max_output:
            raise LimitExceeded("output", f"more than {self.limits.max_output:,} characters")


_CURRENT: ContextVar[Budget | None] = ContextVar("omni_render_budget", default=None)


@contextmanager
def spending(limits: Limits) -> Iterator[Budget]:
    """Run a render under ``limits``; nested renders share the outer budget."""
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(limits)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def current() -> Budget:
    """The running render's budget. Outside one (constant folding at compile time) a fresh
    default budget: limits still hold, nothing is left unbounded."""
    return _CURRENT.get() or Budget(TEMPLATE_LIMITS)


def limits() -> Limits:
    return current().limits


def weight(value: Any, cap: int) -> int:
    """Characters plus items of ``value``, nested containers included, counted up to ``cap``
    (shared references count every time they appear: that is what printing them costs)."""
    total, stack = 0, [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1 + (len(item) if len(item) > cap else 0)
            if len(item) <= cap:
                stack.extend(item)
        else:
            total += 1
    return total


def check_size(value: Any, what: str = "value") -> Any:
    """``value`` unchanged if it is within the size limits."""
    lim = limits()
    if isinstance(value, str):  # the common case, cheaply
        if len(value) > lim.max_size:
            raise LimitExceeded("size", f"{what} longer than {lim.max_size:,} characters")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > lim.max_int_bits:
            raise LimitExceeded("number", f"{what} has more than {lim.max_int_bits} bits")
    elif weight(value, lim.max_size) > lim.max_size:
        raise LimitExceeded("size", f"{what} longer than {lim.max_size:,} characters or items")
    return value


def check_operation(operator: str, left: Any, right: Any) -> None:
    """Refuse, before it runs, an arithmetic or repetition whose result would be too big."""
    lim = limits()
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
    if operator == "**" and numbers and right > 0 and abs(left) > 1:
        if right * math.log2(abs(left)) > lim.max_int_bits:
            raise LimitExceeded("number", f"a power of more than {lim.max_int_bits} bits")
    elif operator == "*" and numbers:
        if left.bit_length() + right.bit_length() > lim.max_int_bits + 1:
            raise LimitExceeded("number", f"a product of more than {lim.max_int_bits} bits")
    elif operator == "*":
        seq, times = (left, right) if isinstance(right, int) else (right, left)
        repeats = isinstance(times, int) and isinstance(seq, (str, list, tuple, bytes))
        if repeats and times > 0 and weight(seq, lim.max_size) * times > lim.max_size:
            raise LimitExceeded(
                "size", f"repeating {times:,} times makes more than {lim.max_size:,}"
            )
    elif operator == "+" and isinstance(left, (str, list, tuple)):
        if weight(left, lim.max_size) + weight(right, lim.max_size) > lim.max_size:
            raise LimitExceeded("size", f"joining makes more than {lim.max_size:,}")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left)


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?")


def _check_width(text: str | None, fmt: str) -> None:
    if text == "*":
        raise LimitExceeded("size", f"a '*' width in format {fmt[:40]!r}")
    if text and int(text) > limits().max_size:
        raise LimitExceeded("size", f"a width of {int(text):,} in format {fmt[:40]!r}")


def check_percent_format(fmt: str) -> None:
    """``'%999999999d' % 1`` would allocate a gigabyte: widths and precisions are bounded."""
    for match in _PERCENT.finditer(fmt):
        _check_width(match.group(1), fmt)
        _check_width(match.group(2), fmt)


def check_brace_format(fmt: str) -> None:
    """The same for ``'{:>999999999}'.format(x)``; nested specs (``{:{w}}``) are refused."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error itself
    for _, name, spec, _ in fields:
        if name is None or not spec:
            continue
        if "{" in spec:
            raise LimitExceeded("size", f"a computed width in format {fmt[:40]!r}")
        match = _SPEC.match(spec)
        if match:
            _check_width(match.group(1), fmt)
            _check_width(match.group(2), fmt)

"""Compact durations as marketers write them: ``30m``, ``4h``, ``1d12h``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PATTERN = re.compile(r"^\s*((?:\d+\s*[wdhms]\s*)+)$")
_PART = re.compile(r"(\d+)\s*([wdhms])")

DURATION_HINT = "write a number with a unit: 30s, 15m, 4h, 1d, 2w, or combined like 1d12h"


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(text: str) -> timedelta:
    """Parse ``1d2h30m`` into a timedelta; raises DurationError with a hint."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if not match:
        raise DurationError(f"{text!r} is not a duration; {DURATION_HINT}")
    units = [unit for _, unit in _PART.findall(match.group(1))]
    if len(set(units)) != len(units) or units != sorted(units, key=list(_UNITS).index):
        raise DurationError(f"{text!r} repeats or misorders units; {DURATION_HINT}")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(match.group(1)))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta | float) -> str:
    """Inverse of parse_duration for display: 93784s -> ``1d2h3m4s``; negative gets ``-``."""
    total = int(value.total_seconds() if isinstance(value, timedelta) else value)
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")

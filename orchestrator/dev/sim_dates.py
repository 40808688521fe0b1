"""Dates for the simulator: a relative ``--start`` and sample timestamps kept in the future.

A sample is written once and read for years: ``starts_at: 2026-12-03T17:00:00Z`` in a webinar
sample is in the past one day, and a run that waits until a day before it then sends nothing.
The simulator therefore moves the timestamps of *sample* data (never data given with
``--event``) forward by whole weeks — weekday and time of day stay as written, so quiet hours
and local times read as the marketer meant — until the earliest is at least a week after the
simulation's start. Calendar dates without a time (a birthday) are left alone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.language.durations import DurationError, parse_duration

WEEK = timedelta(weeks=1)
#: How far ahead of the start the earliest sample timestamp is put.
LEAD = timedelta(weeks=1)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RELATIVE = re.compile(r"^\+(?P<ahead>[0-9smhdw]+)(@(?P<clock>\d{2}:\d{2}))?$")
START_HINT = (
    "--start takes an ISO moment (2030-01-07T08:00:00Z) or a time from now: +2d, or +1d@08:00 "
    "(that day at 08:00 UTC)"
)


class StartError(ValueError):
    pass


def parse_start(text: str, now: datetime) -> datetime:
    """``--start``: ISO (``Z`` for UTC), ``+2d`` (now plus a duration) or ``+1d@08:00``."""
    relative = RELATIVE.match(text.strip())
    if relative:
        try:
            moment: datetime = now + parse_duration(relative["ahead"])
        except DurationError as exc:
            raise StartError(f"--start {text!r}: {exc}; {START_HINT}") from None
        if relative["clock"]:
            hour, minute = (int(x) for x in str(relative["clock"]).split(":"))
            if hour > 23 or minute > 59:
                raise StartError(f"--start {text!r}: no such time of day; {START_HINT}")
            moment = moment.astimezone(UTC).replace(
                hour=hour, minute=minute, second=0, microsecond=0
            )
        return moment
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StartError(f"--start {text!r} is not a moment; {START_HINT}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moments(data: Any) -> list[datetime]:
    if isinstance(data, dict):
        return [m for v in data.values() for m in _moments(v)]
    if isinstance(data, list):
        return [m for v in data for m in _moments(v)]
    if isinstance(data, str) and TIMESTAMP.match(data):
        try:
            moment = datetime.fromisoformat(data.replace("Z", "+00:00"))
        except ValueError:
            return []
        return [moment if moment.tzinfo else moment.replace(tzinfo=UTC)]
    return []


def _shifted(data: Any, by: timedelta) -> Any:
    if isinstance(data, dict):
        return {k: _shifted(v, by) for k, v in data.items()}
    if isinstance(data, list):
        return [_shifted(v, by) for v in data]
    if _moments(data):
        moment = _moments(data)[0] + by
        return moment.isoformat().replace("+00:00", "Z")
    return data


def weeks_behind(samples: list[dict[str, Any]], start: datetime) -> int:
    """Whole weeks that put the earliest timestamp of ``samples`` a week after ``start``."""
    moments = [m for data in samples for m in _moments(data)]
    if not moments:
        return 0
    short = start + LEAD - min(moments)
    return max(0, math.ceil(short / WEEK))


def shift(data: dict[str, Any], weeks: int) -> dict[str, Any]:
    """``data`` with every timestamp ``weeks`` later (the same weekday and time of day)."""
    return data if not weeks else dict(_shifted(data, weeks * WEEK))

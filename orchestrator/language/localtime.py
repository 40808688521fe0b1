"""Wall-clock times in the customer's zone: ``wait_until: {time: "10:00", date: ..., days: -1}``.

- Without ``date``: the next ``time`` in the customer's zone after now (today if still ahead).
- ``date`` naming a timestamp (``webinar.starts_at``): that moment's calendar day in the
  customer's zone, shifted by ``days``, at ``time``.
- ``date`` naming a plain date (``contact.attributes.birthday: 1990-05-17``): the next
  anniversary of that day (this year or next; 29 February is the 28th in other years), at
  ``time`` after shifting by ``days``.

Days are calendar days and ``time`` is local wall-clock time, so DST changes never move a
message to 09:00 or 11:00. A ``time`` that does not exist on a spring-forward day (02:30 in
Berlin) is the same wall-clock distance past the gap (03:30); a repeated one (autumn) is the
first of the two.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Undefined

from orchestrator.language.expressions import ExpressionError, evaluate, to_datetime
from orchestrator.language.timezones import UnknownTimezone, zone

_CLOCK = re.compile(r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class LocalTimeError(ValueError):
    pass


def parse_clock(text: Any) -> time:
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise LocalTimeError(f'time {text!r} must be a 24-hour HH:MM time, e.g. "10:00"')
    return time(int(match.group("h")), int(match.group("m")))


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    # fold=0: the first of a repeated hour; a time in a gap maps past it (same UTC offset as
    # before the change), which zoneinfo then reports in the new offset.
    naive = datetime.combine(day, clock)
    return naive.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")).astimezone(tz)


def _anniversary(original: date, year: int) -> date:
    try:
        return original.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return date(year, 2, 28)


def customer_zone(name: str | None) -> ZoneInfo:
    try:
        return zone(name or "UTC")
    except UnknownTimezone:
        return zone("UTC")


def local_moment(
    *,
    now: datetime,
    timezone: str | None,
    clock: str,
    date_value: Any = None,
    date_name: str = "",
    days: int = 0,
) -> datetime:
    """The aware moment a ``wait_until: {time: ...}`` step wakes at."""
    tz = customer_zone(timezone)
    at = parse_clock(clock)
    local_now = now.astimezone(tz)
    if not date_name:
        moment = _at(local_now.date() + timedelta(days=days), at, tz)
        return moment if moment > now else _at(moment.date() + timedelta(days=1), at, tz)
    if isinstance(date_value, Undefined):
        raise LocalTimeError(f"{date_name} is missing in the event or contact")
    if isinstance(date_value, date) and not isinstance(date_value, datetime):
        plain: date | None = date_value
    elif isinstance(date_value, str) and _DATE.match(date_value.strip()):
        plain = date.fromisoformat(date_value.strip())
    else:
        plain = None
    if plain is None:
        try:
            stamp = to_datetime(date_value, date_name)
        except ExpressionError as exc:
            raise LocalTimeError(str(exc)) from None
        return _at(stamp.astimezone(tz).date() + timedelta(days=days), at, tz)
    for year in (local_now.year - 1, local_now.year, local_now.year + 1):
        moment = _at(_anniversary(plain, year) + timedelta(days=days), at, tz)
        if moment > now:
            return moment
    return moment


def resolve_local(
    clock: str,
    date_expr: str | None,
    days: int,
    context: dict[str, Any],
    timezone: str | None,
    now: datetime,
) -> datetime:
    """Evaluate the step's ``date`` expression (if any) and find its wall-clock moment; every
    problem is an ExpressionError naming the field."""
    value = evaluate(date_expr, context) if date_expr else None
    try:
        return local_moment(
            now=now,
            timezone=timezone,
            clock=clock,
            date_value=value,
            date_name=(date_expr or "").strip(),
            days=days,
        )
    except LocalTimeError as exc:
        raise ExpressionError(str(exc)) from None

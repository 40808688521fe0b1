"""Send policies: quiet hours in the customer's time zone, frequency caps, consent.

Pure functions of their inputs (``now`` always comes from the workflow clock) so they are
unit-testable across time zones and DST changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from orchestrator.durations import DURATION_HINT, DurationError, parse_duration
from orchestrator.model import CHANNELS, FrequencyCap, QuietHours
from orchestrator.timezones import zone

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CAP = re.compile(r"^\s*(\d+)\s+(?:(?!messages?\b)(\w+)\s+)?(?:messages?\s+)?per\s+(\S+)\s*$")
CAP_HINT = "write '3 per 24h' (all channels) or '1 sms per 1d' (one channel)"
WINDOW_HINT = "write the window as 'HH:MM-HH:MM' in the customer's time zone, e.g. '21:00-09:00'"


class PolicyError(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        self.hint = hint
        super().__init__(message)


def parse_window(text: str) -> tuple[time, time]:
    match = _WINDOW.match(text) if isinstance(text, str) else None
    if not match:
        raise PolicyError(f"{text!r} is not a time window", WINDOW_HINT)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise PolicyError(f"{text!r} has an hour or minute out of range", WINDOW_HINT)
    if (h1, m1) == (h2, m2):
        raise PolicyError(f"{text!r} starts and ends at the same time", WINDOW_HINT)
    return time(h1, m1), time(h2, m2)


def quiet_until(now: datetime, quiet: QuietHours, timezone: str) -> datetime | None:
    """When ``now`` falls inside the customer's quiet hours, the UTC instant they end."""
    start, end = parse_window(f"{quiet.start}-{quiet.end}")
    tz = zone(timezone)
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside:
        return None
    end_date = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    # A wall-clock end inside a DST gap resolves to the first valid instant after it.
    candidate = datetime.combine(end_date, end, tzinfo=tz).astimezone(UTC)
    while candidate <= now:  # only possible around DST folds
        candidate += timedelta(hours=1)
    return candidate


def parse_cap(text: str) -> FrequencyCap:
    match = _CAP.match(text) if isinstance(text, str) else None
    if not match:
        raise PolicyError(f"{text!r} is not a frequency cap", CAP_HINT)
    limit, channel, window = match.groups()
    if channel is not None and channel not in CHANNELS:
        raise PolicyError(f"{channel!r} is not a channel", f"use one of {', '.join(CHANNELS)}")
    try:
        seconds = int(parse_duration(window).total_seconds())
    except DurationError:
        raise PolicyError(f"{window!r} is not a duration", DURATION_HINT) from None
    if int(limit) < 1 or seconds < 1:
        raise PolicyError(f"{text!r} allows nothing", "the count and window must be positive")
    return FrequencyCap(limit=int(limit), window_s=seconds, channel=channel)


def cap_reached(
    caps: Iterable[FrequencyCap],
    sent: Iterable[tuple[datetime, str]],
    *,
    channel: str,
    now: datetime,
) -> FrequencyCap | None:
    """The first cap another message on ``channel`` would break, given (sent_at, channel)."""
    history = list(sent)
    for cap in caps:
        if cap.channel is not None and cap.channel != channel:
            continue
        since = now - timedelta(seconds=cap.window_s)
        count = sum(
            1
            for at, ch in history
            if since < at <= now and (cap.channel is None or ch == cap.channel)
        )
        if count >= cap.limit:
            return cap
    return None


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str = ""


def consent(
    *,
    category: str,
    channel: str,
    consents: dict[str, bool],
    suppressions: dict[str, str],
) -> ConsentDecision:
    """Suppressions (unsubscribed, STOP, bounced, blocked) stop every send on the channel;
    marketing additionally needs the customer's explicit consent for it."""
    if channel in suppressions:
        return ConsentDecision(False, f"suppressed: {suppressions[channel]}")
    if category == "marketing" and consents.get(channel) is not True:
        if consents.get(channel) is False:
            return ConsentDecision(False, "no_consent: customer refused")
        return ConsentDecision(False, "no_consent: never granted")
    return ConsentDecision(True)

"""Durations, quiet hours across time zones and DST changes, frequency caps, consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.engine.policies import cap_reached, consent, quiet_until
from orchestrator.language.durations import DurationError, format_duration, parse_duration
from orchestrator.language.model import FrequencyCap, QuietHours
from orchestrator.language.policy_syntax import PolicyError, parse_cap


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("4h", 14400),
        ("1d", 86400),
        ("2w", 1209600),
        ("1d12h", 129600),
        ("1h30m", 5400),
        (" 2h ", 7200),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1 hour", "1h1d", "1h2h", "-1h", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError, match="30s, 15m"):
        parse_duration(text)


def test_format_duration_round_trip() -> None:
    assert format_duration(93784) == "1d2h3m4s"
    assert parse_duration(format_duration(93784)) == timedelta(seconds=93784)
    assert format_duration(0) == "0s" and format_duration(-3600) == "-1h"


QUIET = QuietHours("21:00", "09:00")
DAY = QuietHours("12:00", "14:00")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (utc(2026, 6, 1, 20, 59), "UTC", None),
        (utc(2026, 6, 1, 21, 0), "UTC", utc(2026, 6, 2, 9, 0)),
        (utc(2026, 6, 2, 8, 59), "UTC", utc(2026, 6, 2, 9, 0)),
        (utc(2026, 6, 2, 9, 0), "UTC", None),
        # 20:30 UTC is 22:30 in Berlin (summer, UTC+2): quiet until 09:00 local = 07:00 UTC.
        (utc(2026, 6, 1, 20, 30), "Europe/Berlin", utc(2026, 6, 2, 7, 0)),
        # Kolkata is UTC+5:30: 16:00 UTC is 21:30 there.
        (utc(2026, 6, 1, 16, 0), "Asia/Kolkata", utc(2026, 6, 2, 3, 30)),
        (utc(2026, 6, 1, 15, 29), "Asia/Kolkata", None),
    ],
)
def test_quiet_hours_overnight(now: datetime, tz: str, expected: datetime | None) -> None:
    assert quiet_until(now, QUIET, tz) == expected


def test_quiet_hours_same_day_window() -> None:
    assert quiet_until(utc(2026, 6, 1, 12, 30), DAY, "UTC") == utc(2026, 6, 1, 14, 0)
    assert quiet_until(utc(2026, 6, 1, 14, 0), DAY, "UTC") is None


def test_quiet_hours_new_york_spring_forward() -> None:
    # 8 March 2026: clocks go 02:00 -> 03:00. At 23:00 EST (04:00 UTC on the 8th) the night
    # ends at 09:00 EDT, which is 13:00 UTC, one hour earlier than on a normal day.
    assert quiet_until(utc(2026, 3, 8, 4, 0), QUIET, "America/New_York") == utc(2026, 3, 8, 13, 0)
    assert quiet_until(utc(2026, 3, 7, 4, 0), QUIET, "America/New_York") == utc(2026, 3, 7, 14, 0)


def test_quiet_hours_new_york_fall_back() -> None:
    # 1 November 2026: clocks go 02:00 -> 01:00; 09:00 EST is 14:00 UTC.
    assert quiet_until(utc(2026, 11, 1, 3, 0), QUIET, "America/New_York") == utc(2026, 11, 1, 14, 0)


def test_quiet_hours_berlin_dst_changes() -> None:
    # 29 March 2026 (spring forward): 09:00 CEST = 07:00 UTC; 25 October (fall back): 08:00 UTC.
    assert quiet_until(utc(2026, 3, 28, 22, 0), QUIET, "Europe/Berlin") == utc(2026, 3, 29, 7, 0)
    assert quiet_until(utc(2026, 10, 24, 21, 0), QUIET, "Europe/Berlin") == utc(2026, 10, 25, 8, 0)


def test_quiet_window_ending_inside_a_dst_gap() -> None:
    # A window ending at 02:30 on the spring-forward night: that wall time does not exist;
    # the send waits until the first valid instant after it (03:30 EDT = 07:30 UTC).
    gap = QuietHours("23:00", "02:30")
    result = quiet_until(utc(2026, 3, 8, 5, 0), gap, "America/New_York")
    assert result is not None and result > utc(2026, 3, 8, 5, 0)
    assert result == utc(2026, 3, 8, 7, 30)


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("3 per 24h", FrequencyCap(3, 86400, None)),
        ("1 sms per 7d", FrequencyCap(1, 604800, "sms")),
        ("2 messages per 1d", FrequencyCap(2, 86400, None)),
        ("1 email message per 12h", FrequencyCap(1, 43200, "email")),
    ],
)
def test_parse_cap(text: str, cap: FrequencyCap) -> None:
    assert parse_cap(text) == cap


@pytest.mark.parametrize(
    "text", ["3", "3 per", "x per 1d", "1 fax per 1d", "0 per 1d", "1 per soon"]
)
def test_bad_caps(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_cap(text)


def test_cap_rolling_window_edges() -> None:
    now = utc(2026, 6, 1, 12, 0)
    cap = [FrequencyCap(2, 3600)]
    at_start = [(now - timedelta(hours=1), "email"), (now - timedelta(minutes=1), "sms")]
    assert cap_reached(cap, at_start, channel="email", now=now) is None  # the edge is outside
    inside = [(now - timedelta(minutes=59), "email"), (now, "sms")]
    assert cap_reached(cap, inside, channel="email", now=now) == cap[0]


def test_cap_per_channel_vs_overall() -> None:
    now = utc(2026, 6, 1, 12, 0)
    sent = [(now - timedelta(hours=1), "sms"), (now - timedelta(hours=2), "email")]
    sms_cap = [FrequencyCap(1, 86400, "sms")]
    assert cap_reached(sms_cap, sent, channel="sms", now=now) == sms_cap[0]
    assert cap_reached(sms_cap, sent, channel="email", now=now) is None
    overall = [FrequencyCap(3, 86400)]
    assert cap_reached(overall, sent, channel="push", now=now) is None
    assert cap_reached(overall, [*sent, (now, "push")], channel="push", now=now) == overall[0]


def test_consent_rules() -> None:
    assert consent(
        category="marketing", channel="sms", consents={"sms": True}, suppressions={}
    ).allowed
    assert not consent(category="marketing", channel="sms", consents={}, suppressions={}).allowed
    assert consent(category="transactional", channel="sms", consents={}, suppressions={}).allowed
    stop = consent(
        category="transactional",
        channel="sms",
        consents={"sms": True},
        suppressions={"sms": "stop"},
    )
    assert not stop.allowed and stop.reason == "suppressed: stop"


@pytest.mark.parametrize(
    ("reason", "transactional"),
    [("unsubscribed", True), ("unsubscribed_all", False), ("stop", False), ("bounced", False)],
)
def test_a_marketing_unsubscribe_leaves_transactional_messages(
    reason: str, transactional: bool
) -> None:
    kept = {"channel": "email", "consents": {"email": False}, "suppressions": {"email": reason}}
    assert consent(category="marketing", **kept).allowed is False  # type: ignore[arg-type]
    assert consent(category="transactional", **kept).allowed is transactional  # type: ignore[arg-type]

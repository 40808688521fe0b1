"""The simulator's dates: a relative ``--start`` and sample timestamps kept ahead of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.dev.sim_dates import StartError, parse_start, shift, weeks_behind

NOW = datetime(2031, 3, 5, 23, 20, tzinfo=UTC)  # a Wednesday


def test_relative_start() -> None:
    assert parse_start("+2d", NOW) == datetime(2031, 3, 7, 23, 20, tzinfo=UTC)
    assert parse_start("+1d@08:00", NOW) == datetime(2031, 3, 6, 8, 0, tzinfo=UTC)
    assert parse_start("2031-04-01T08:00:00Z", NOW) == datetime(2031, 4, 1, 8, tzinfo=UTC)
    for bad in ("+2 days", "+1d@25:00", "tomorrow"):
        with pytest.raises(StartError, match="--start takes an ISO moment"):
            parse_start(bad, NOW)


def test_past_sample_timestamps_move_by_whole_weeks_to_a_week_after_the_start() -> None:
    sample = {"webinar": {"id": "w-12", "starts_at": "2026-12-03T17:00:00+00:00"}, "n": 3}
    weeks = weeks_behind([sample], NOW)
    moved = shift(sample, weeks)
    starts = datetime.fromisoformat(moved["webinar"]["starts_at"])
    assert starts.weekday() == 3 and (starts.hour, starts.minute) == (17, 0)  # still Thu 17:00
    assert 7 <= (starts - NOW).days < 14
    assert moved["webinar"]["id"] == "w-12" and moved["n"] == 3


def test_future_samples_and_plain_dates_stay_as_written() -> None:
    later = {"webinar": {"starts_at": "2099-01-01T10:00:00Z"}}
    birthday = {"contact": {"attributes": {"birthday": "1990-05-17"}}}
    assert weeks_behind([later, birthday], NOW) == 0
    assert shift(birthday, 3) == birthday

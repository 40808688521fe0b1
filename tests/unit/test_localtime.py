"""Issue 11: wait_until a wall-clock time in the customer's zone, across DST, east and west."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.language.expressions import ExpressionError
from orchestrator.language.localtime import LocalTimeError, local_moment, resolve_local


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def at(now: str, tz: str, clock: str, value: object = None, name: str = "", days: int = 0) -> str:
    moment = local_moment(
        now=utc(now), timezone=tz, clock=clock, date_value=value, date_name=name, days=days
    )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_next_ten_oclock_in_los_angeles_on_the_day_dst_starts() -> None:
    # Sat 7 Mar 12:00 PST; DST starts Sun 8 Mar 02:00: 10:00 PDT is 17:00 UTC, not 18:00.
    assert at("2026-03-07T20:00", "America/Los_Angeles", "10:00") == "2026-03-08T17:00"
    assert at("2026-03-07T17:00", "America/Los_Angeles", "10:00") == "2026-03-07T18:00"


def test_next_ten_oclock_in_tokyo_is_already_the_next_day_in_utc_terms() -> None:
    # 20:00 UTC is 05:00 JST the next morning: 10:00 JST is five hours later.
    assert at("2026-03-07T20:00", "Asia/Tokyo", "10:00") == "2026-03-08T01:00"
    assert at("2026-03-08T01:00", "Asia/Tokyo", "10:00") == "2026-03-09T01:00"  # not "now"


def test_birthday_on_the_day_berlin_moves_to_summer_time() -> None:
    moment = at("2026-03-01T00:00", "Europe/Berlin", "10:00", "1990-03-29", "birthday")
    assert moment == "2026-03-29T08:00"  # 10:00 CEST


def test_birthday_already_past_this_year_is_next_year() -> None:
    assert at("2026-06-01T00:00", "Europe/Berlin", "10:00", "1990-03-29", "b") == (
        "2027-03-29T08:00"
    )
    # Later the same day in Los Angeles (already the 30th in UTC): still today, local.
    assert at("2026-03-30T03:00", "America/Los_Angeles", "21:00", "1990-03-29", "b") == (
        "2026-03-30T04:00"
    )


def test_leap_day_birthday_in_a_common_year() -> None:
    assert at("2026-01-01T00:00", "Asia/Tokyo", "10:00", "2000-02-29", "b") == "2026-02-28T01:00"


def test_day_before_a_webinar_uses_the_customers_calendar_day() -> None:
    # Starts Mon 9 Mar 03:00 UTC = Sun 8 Mar 20:00 PDT: the day before is Sat 7 Mar (PST).
    start = "2026-03-09T03:00:00Z"
    assert at("2026-03-01T00:00", "America/Los_Angeles", "09:00", start, "w", -1) == (
        "2026-03-07T17:00"
    )
    # The same webinar in Tokyo (Mon 12:00 JST): Sunday 09:00 JST.
    assert at("2026-03-01T00:00", "Asia/Tokyo", "09:00", start, "w", -1) == "2026-03-08T00:00"


def test_day_before_across_the_autumn_change_in_berlin() -> None:
    # Mon 26 Oct 09:00 CET; Sunday 25 Oct is the day clocks go back: 09:00 CET = 08:00 UTC.
    start = "2026-10-26T08:00:00Z"
    assert at("2026-10-01T00:00", "Europe/Berlin", "09:00", start, "w", -1) == "2026-10-25T08:00"
    assert at("2026-10-01T00:00", "Europe/Berlin", "09:00", start, "w", -2) == "2026-10-24T07:00"


def test_a_time_in_the_spring_gap_is_past_the_gap() -> None:
    assert at("2026-03-29T00:30", "Europe/Berlin", "02:30") == "2026-03-29T01:30"  # 03:30 CEST


def test_unknown_zone_falls_back_to_utc() -> None:
    assert at("2026-03-07T20:00", "Mars/Olympus", "10:00") == "2026-03-08T10:00"


def test_missing_date_names_the_field() -> None:
    ctx: dict[str, object] = {"contact": {"attributes": {}}}
    with pytest.raises(ExpressionError, match=r"contact\.attributes\.birthday is missing"):
        resolve_local(
            "10:00", "contact.attributes.birthday", 0, ctx, "UTC", utc("2026-01-01T00:00")
        )


@pytest.mark.parametrize("clock", ["25:00", "10", "10:5", "ten"])
def test_bad_clock(clock: str) -> None:
    with pytest.raises(LocalTimeError, match="HH:MM"):
        at("2026-01-01T00:00", "UTC", clock)

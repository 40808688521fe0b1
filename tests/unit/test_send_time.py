"""The hour-of-week model (engine/send_time.py): local bins across DST and odd offsets,
shrinkage toward the shop, quiet hours, the window, the lift needed to hold, the fallback,
and explanations a marketer can check against the customer's own history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from best_time_cases import at_local, habit

from orchestrator.engine.send_time import (
    HOURS,
    KERNEL,
    NOTHING,
    Reaction,
    band,
    candidates,
    choose,
    hour_of_week,
    profile,
    shop_prior,
    smooth,
)
from orchestrator.language.model import QuietHours

#: Tuesday 8 December 2026, 06:00 UTC (07:00 in Berlin, 01:00 in New York).
NOW = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_kernel_keeps_each_reactions_weight_and_wraps_the_week() -> None:
    assert sum(w for _, w in KERNEL) == pytest.approx(1.0)
    raw = [0.0] * HOURS
    raw[HOURS - 1] = 3.0  # Sunday 23h spreads into Monday 0h and 1h
    out = smooth(raw)
    assert sum(out) == pytest.approx(3.0)
    assert out[0] > 0 and out[1] > 0 and out[HOURS - 1] == max(out)


def test_a_reaction_is_placed_by_its_own_instant_across_dst() -> None:
    summer = at_local(datetime(2026, 7, 1).date(), 19, 10, "Europe/Berlin")
    winter = at_local(datetime(2026, 12, 1).date(), 19, 10, "Europe/Berlin")
    assert (summer.hour, winter.hour) == (17, 18)  # UTC differs ...
    assert hour_of_week(summer, BERLIN) % 24 == hour_of_week(winter, BERLIN) % 24 == 19


@pytest.mark.parametrize("tz", ["Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_candidates_start_at_local_hours_in_zones_off_the_hour(tz: str) -> None:
    moments = candidates(NOW, 86400, ZoneInfo(tz), None, tz)
    assert moments[0] == NOW
    assert all(m.astimezone(ZoneInfo(tz)).minute == 0 for m in moments[1:])
    assert len(moments) >= 24 and moments[-1] <= NOW + timedelta(days=1)


def test_candidates_across_a_dst_change_keep_local_hours() -> None:
    # Berlin springs forward on 28 March 2027 at 01:00 UTC.
    start = datetime(2027, 3, 27, 22, 30, tzinfo=UTC)
    moments = candidates(start, 86400, BERLIN, None, "Europe/Berlin")
    hours = [m.astimezone(BERLIN).hour for m in moments[1:]]
    assert 2 not in hours[:6] and hours[:4] == [0, 1, 3, 4]  # 02:00 does not exist that day
    assert len(set(moments)) == len(moments)


def test_quiet_hours_leave_only_allowed_moments_and_where_they_end() -> None:
    quiet = QuietHours("21:00", "08:30")
    moments = candidates(NOW, 86400, BERLIN, quiet, "Europe/Berlin")
    local = [m.astimezone(BERLIN) for m in moments]
    assert local[0].strftime("%H:%M") == "08:30"  # now (07:00) is quiet: its end comes first
    assert all(not (t.hour >= 21 or (t.hour, t.minute) < (8, 30)) for t in local)


def test_own_reactions_outweigh_the_shop_after_a_few() -> None:
    shop = habit("Europe/Berlin", 12, 60, NOW, zone="Europe/Berlin")
    alone = choose(
        now=NOW, within_s=86400, own=[], shop=shop, channels=["email"], timezone="Europe/Berlin"
    )
    assert (alone.source, alone.local) == ("shop", "Tue 12:00")
    assert alone.reason == "no reactions of their own yet; shop-wide 60 of 60 opens 12–14h"
    one = habit("Europe/Berlin", 20, 1, NOW)
    few = choose(
        now=NOW, within_s=86400, own=one, shop=shop, channels=["email"], timezone="Europe/Berlin"
    )
    assert few.local == "Tue 12:00"  # one reaction does not overturn sixty
    many = habit("Europe/Berlin", 20, 6, NOW)
    mine = choose(
        now=NOW, within_s=86400, own=many, shop=shop, channels=["email"], timezone="Europe/Berlin"
    )
    assert (mine.source, mine.local) == ("own", "Tue 20:00")
    assert mine.describe() == "holding for Tue 20:00 local: 6 of 6 past opens 20–22h"


def test_a_flat_profile_sends_at_once_and_a_short_window_limits_the_hold() -> None:
    spread = [r for hour in range(24) for r in habit("Europe/Berlin", hour, 2, NOW)]
    flat = choose(
        now=NOW, within_s=86400, own=spread, shop=[], channels=["email"], timezone="Europe/Berlin"
    )
    assert not flat.held and flat.moment == NOW
    assert flat.describe().startswith("at once: no hour in the next 1d clearly better")
    evening = habit("Europe/Berlin", 20, 5, NOW)
    short = choose(
        now=NOW,
        within_s=3 * 3600,
        own=evening,
        shop=[],
        channels=["email"],
        timezone="Europe/Berlin",
    )
    assert short.moment <= NOW + timedelta(hours=3)


def test_other_channels_count_half_and_say_so() -> None:
    pushes = habit("Europe/Berlin", 18, 4, NOW, channel="push", kind="clicked")
    choice = choose(
        now=NOW, within_s=86400, own=pushes, shop=[], channels=["sms"], timezone="Europe/Berlin"
    )
    assert choice.reason == "4 of 4 past clicks (on other channels) 18–20h"
    found = profile(pushes, [], channels=["sms"], tz=BERLIN, now=NOW)
    assert found.weight == pytest.approx(2.0, rel=0.1)  # 4 times 0.5, a little decayed


def test_older_reactions_weigh_less_so_a_moving_habit_is_followed() -> None:
    old = habit("Europe/Berlin", 9, 6, NOW - timedelta(days=200))
    new = habit("Europe/Berlin", 20, 3, NOW)
    choice = choose(
        now=NOW,
        within_s=86400,
        own=old + new,
        shop=[],
        channels=["email"],
        timezone="Europe/Berlin",
    )
    assert choice.local == "Tue 20:00"


def test_the_fallback_when_nobody_reacted() -> None:
    ten = choose(
        now=NOW,
        within_s=86400,
        own=[],
        shop=[],
        channels=["email"],
        timezone="Asia/Tokyo",
        fallback="10:00",
    )
    assert ten.moment == at_local(NOW.date(), 10, 0, "Asia/Tokyo") + timedelta(days=1)
    assert ten.describe() == f"holding for Wed 10:00 local: {NOTHING}: fallback 10:00 local"
    past = choose(
        now=NOW,
        within_s=3600,
        own=[],
        shop=[],
        channels=["email"],
        timezone="Asia/Tokyo",
        fallback="10:00",
    )
    assert not past.held and "fallback 10:00 is past the window" in past.reason
    unknown = choose(
        now=NOW,
        within_s=3600,
        own=[],
        shop=[],
        channels=["email"],
        timezone="UTC",
        unknown="reactions could not be read (OperationalError)",
    )
    assert unknown.reason.startswith("reactions could not be read (OperationalError)")


def test_a_shop_profile_is_of_the_sends_channels_once_they_have_enough() -> None:
    emails = habit("UTC", 9, 150, NOW, zone="UTC")
    pushes = habit("UTC", 21, 150, NOW, channel="push", zone="UTC")
    email_only = shop_prior(emails + pushes, ["email"], "UTC")
    assert email_only.count == 150
    assert max(range(HOURS), key=email_only.dist.__getitem__) % 24 == 9
    assert shop_prior(emails + pushes, ["sms"], "UTC").count == 300  # no SMS: every channel's


def test_bands_are_the_three_hours_from_the_send_and_wrap_midnight() -> None:
    assert (band(0), band(19), band(23)) == ("0–2h", "19–21h", "23–1h")


def test_unknown_zone_is_utc_and_no_crash_on_odd_data() -> None:
    odd = [Reaction(NOW - timedelta(days=1), "email", "opened", "Not/AZone")]
    choice = choose(
        now=NOW, within_s=86400, own=[], shop=odd, channels=["email"], timezone="Mars/Base"
    )
    assert choice.moment >= NOW


def test_a_day_of_waiting_must_buy_more_than_a_weekday_quirk() -> None:
    """One reaction at 15h on each of the six days before today (none on today's weekday):
    today 15h, not tomorrow's (a same-day reaction) a day later."""
    six = habit("Europe/Berlin", 15, 6, NOW)
    choice = choose(
        now=NOW, within_s=2 * 86400, own=six, shop=[], channels=["email"], timezone="Europe/Berlin"
    )
    assert choice.moment == at_local(NOW.date(), 15, 0, "Europe/Berlin")

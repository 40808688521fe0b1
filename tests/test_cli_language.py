"""Issue 11: what `omni simulate` says about unknown events, past starts and local times."""

from __future__ import annotations

import json

from omni_command import omni

CONTACT = {
    "id": "42",
    "email": "a@example.com",
    "timezone": "America/Los_Angeles",
    "consents": {"email": True},
}


def test_simulate_unknown_event_suggests_the_closest() -> None:
    done = omni(
        "simulate", "abandoned_cart", "--event", "cart_updated@0", "--event", "order_plased@+1h"
    )
    assert done.returncode == 2
    assert "no scenario uses `order_plased`" in done.stderr
    assert "did you mean `order_placed`?" in done.stderr


def test_simulate_refuses_a_start_in_the_past() -> None:
    done = omni("simulate", "abandoned_cart", "--start", "2020-01-05T10:00:00Z")
    assert done.returncode == 2
    assert "2020-01-05T10:00:00+00:00 is in the past" in done.stderr


def test_text_timeline_shows_local_times_next_to_offsets() -> None:
    done = omni(
        "simulate",
        "abandoned_cart",
        "--start",
        "2099-01-05T10:00:00Z",
        "--contact",
        json.dumps(CONTACT),
    )
    assert done.returncode == 0, done.stderr
    assert "times in America/Los_Angeles" in done.stdout
    lines = done.stdout.splitlines()
    # 10:00 UTC is 02:00 in Los Angeles in January; quiet hours hold the email until 09:00.
    assert any("+0s" in ln and "Mon 05 Jan 02:00 PST" in ln for ln in lines), done.stdout
    assert any("+7h" in ln and "Mon 05 Jan 09:00 PST" in ln and "email" in ln for ln in lines), (
        done.stdout
    )


def test_the_welcome_email_answers_a_sign_up_at_night_the_next_one_waits_for_morning() -> None:
    """welcome_series's first send is `quiet_hours: ignore` (it answers the customer's own
    sign-up); its second, two days later, is held until 08:00 in their zone."""
    night = {**CONTACT, "timezone": "America/Los_Angeles"}
    # 07:00 UTC in January is 23:00 in Los Angeles: inside the 22:00-08:00 quiet hours.
    done = omni(
        "simulate", "welcome_series", "--json", "--start", "2099-01-05T07:00:00Z",
        "--contact", json.dumps(night),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sends = [e for e in json.loads(done.stdout)["timeline"] if e["kind"] == "send"]
    assert (sends[0]["template"], sends[0]["offset_s"]) == ("welcome/hello", 0)
    assert sends[1]["template"] == "welcome/tips"
    assert sends[1]["offset_s"] == 2 * 86400 + 9 * 3600  # 23:00 + 2d, held to 08:00


def test_the_webinar_sample_reminds_whatever_the_year() -> None:
    """The shipped sample's `starts_at` is a fixed date: the simulator moves it ahead of the
    start, so the reminder is sent in 2030 as it was in 2025."""
    done = omni("simulate", "webinar_reminder", "--json", "--start", "+400d@10:00")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sample_weeks"] > 0
    sends = [e["template"] for e in result["timeline"] if e["kind"] == "send"]
    assert sends[0] == "webinar/reminder_24h", result
    assert result["outcome"] != "nothing_sent"

"""Issue 11: what `omni simulate` says about unknown events, past starts and local times."""

from __future__ import annotations

import json

from test_cli import omni

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

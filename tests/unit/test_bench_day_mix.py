"""bench/day_mix.py's synthetic shop day and its clock: pure parts of bench/day.py."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not installed

from bench.day_mix import REPEAT, customers, scaled, scaled_scenario, shop_day
from orchestrator.language.loader import load_or_raise

ROOT = Path(__file__).resolve().parents[2]


def test_durations_shrink_with_the_clock_and_nothing_else_changes() -> None:
    assert scaled("4h", 60) == "240s"
    assert scaled("1h 30m", 60) == "90s"
    assert scaled("1 sms per 7d", 86_400) == "1 sms per 7s"  # "1 s" of "sms" is no duration
    assert scaled("3 per 24h", 864) == "3 per 100s"
    assert scaled("webinar.starts_at - 15m", 86_400) == "webinar.starts_at - 1s"  # at least 1 s
    assert scaled("cart.total > 0", 10) == "cart.total > 0"


def test_every_shipped_scenario_still_validates_on_the_day_clock(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    for source in (ROOT / "scenarios").glob("*.yaml"):
        doc = scaled_scenario(yaml.safe_load(source.read_text(encoding="utf-8")), 720)
        assert "quiet_hours" not in doc
        (tmp_path / "scenarios" / source.name).write_text(yaml.safe_dump(doc))
    loaded = load_or_raise([tmp_path / "scenarios"], ROOT / "templates")
    cart = loaded["abandoned_cart"]
    assert cart.steps[0].wait_s == 5 and cart.quiet_hours is None


def test_a_day_is_the_same_for_a_seed_and_has_the_mix_it_claims() -> None:
    people = customers(400, 3)
    plan = shop_day(people, 3)
    assert plan == shop_day(customers(400, 3), 3)
    assert [p.at for p in plan] == sorted(p.at for p in plan)
    names = Counter(p.body["name"] for p in plan)
    assert 8 <= len(plan) / len(people) <= 13
    assert names["product_viewed"] > names["cart_updated"] > names["order_placed"] > 0
    for name in ("signed_up", "price_dropped", "webinar_registered", "cart_emptied"):
        assert names[name] > 0, name
    repeats = [p for p in plan if p.repeat]
    assert abs(len(repeats) / (len(plan) - len(repeats)) - REPEAT) < 0.02
    first = {p.body["event_id"]: p.at for p in plan if not p.repeat}
    assert all(p.body["event_id"] in first and p.at > first[p.body["event_id"]] for p in repeats)
    # Events of one customer carry only that customer's id; ids are unique per event.
    assert all(p.body["customer_id"] == p.customer for p in plan)
    assert len(first) == len(plan) - len(repeats)

"""The pure parts of issue 15: reaction chances and ranking, the cost rule, stable arms, and
the uplift interval with its verdicts."""

from __future__ import annotations

import pytest

from orchestrator.engine.affinity import Tally, judge, rank, reaction_chance, shop_prior
from orchestrator.engine.experiments import assign, bucket, held_out, variant
from orchestrator.engine.uplift import MIN_ARM, compare, newcombe, sequential_ratio, wilson

CHANNELS = ["email", "push", "telegram", "sms"]


def test_the_prior_follows_the_shop_with_a_capped_strength() -> None:
    assert shop_prior(Tally()).a == pytest.approx(1) and shop_prior(Tally()).b == pytest.approx(1)
    big = shop_prior(Tally(1_000_000, 100_000))
    assert big.a + big.b == pytest.approx(10) and big.mean == pytest.approx(0.1, abs=1e-5)
    small = shop_prior(Tally(4, 1))
    assert small.a + small.b == pytest.approx(4) and small.mean == pytest.approx(2 / 6)


def test_a_customers_own_history_moves_the_chance_from_the_prior() -> None:
    shop = Tally(1000, 100)
    assert reaction_chance(Tally(), shop) == pytest.approx(101 / 1002)
    assert reaction_chance(Tally(6, 5), shop) == pytest.approx((1.008 + 5) / 16, abs=1e-3)
    assert reaction_chance(Tally(40, 0), shop) < reaction_chance(Tally(4, 0), shop)


def test_ties_keep_the_written_order_and_a_shop_without_data_sends_as_written() -> None:
    ranking = rank(CHANNELS, {}, {})
    assert ranking.order == [0, 1, 2, 3]
    assert ranking.explanation.startswith("as written: no email history")


def test_the_ranking_explains_its_first_choice() -> None:
    shop = {c: Tally(1000, 100) for c in CHANNELS}
    ranking = rank(CHANNELS, {"sms": Tally(6, 5)}, shop)
    assert ranking.order == [3, 0, 1, 2]
    assert ranking.explanation.startswith(
        "sms first: 5 of 6 past sms messages got a reaction (estimate 38%, shop-wide 10%)"
    )
    # A ladder may name a channel twice: both rungs move together, in written order.
    twice = rank(["email", "sms", "email"], {"sms": Tally(6, 5)}, shop)
    assert twice.order == [1, 0, 2]


@pytest.mark.parametrize(
    ("chance", "value", "price", "units", "skip", "reason"),
    [
        (
            0.002,
            42,
            0.08,
            2,
            True,
            "expected 0.002 × 42.00 = 0.084 < cost 2 segments × 0.08 = 0.16",
        ),
        (0.03, 42, 0.08, 2, False, "expected 0.03 × 42.00 = 1.26 ≥ cost 2 segments × 0.08 = 0.16"),
        (0.1, 0.0, 0.01, 1, True, "expected 0.1 × 0.00 = 0.00 < cost 1 segment × 0.01 = 0.01"),
        (0.5, 2, 1, 1, False, "expected 0.5 × 2.00 = 1.00 ≥ cost 1 segment × 1 = 1.00"),
    ],
)
def test_the_cost_rule_and_its_numbers(
    chance: float, value: float, price: float, units: int, skip: bool, reason: str
) -> None:
    check = judge(chance, value, price, units, "segment")
    assert check.skip is skip
    assert check.reason == f"cost: {reason}"
    assert check.expected == pytest.approx(chance * value)
    assert check.cost == pytest.approx(price * units)


def test_arms_are_stable_balanced_and_independent() -> None:
    ids = [f"customer-{i}" for i in range(20_000)]
    assert bucket("a", "b") == bucket("a", "b") != bucket("a", "c")
    out = [c for c in ids if held_out("cart", c, 10)]
    assert 0.09 < len(out) / len(ids) < 0.11
    assert not any(held_out("cart", c, 0) for c in ids[:100])
    names = ["a", "b", "c"]
    counts = {n: sum(variant("cart", "steps.2", c, names) == n for c in ids) for n in names}
    assert all(0.31 < n / len(ids) < 0.36 for n in counts.values())
    # Being held out says nothing about the variant.
    among_out = sum(variant("cart", "steps.2", c, names) == "a" for c in out) / len(out)
    assert 0.29 < among_out < 0.38
    # Another scenario shuffles customers afresh.
    other = {c for c in ids if held_out("welcome", c, 10)}
    assert len(other & set(out)) / len(out) < 0.15
    found = assign("cart", "customer-1", 10, {"steps.2": names})
    assert found == assign("cart", "customer-1", 10, {"steps.2": names})
    assert found.arms(True)["holdout"] in ("treated", "held_out")
    # A held-out run sends no variant, so it is recorded in none.
    out_one = assign("cart", out[0], 10, {"steps.2": names})
    assert out_one.held_out and out_one.arms(True) == {"holdout": "held_out"}
    assert out_one.describe(10) == "held out: sends nothing (10% of customers)"


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), table II: 56/70 vs 48/80 and 9/10 vs 3/10.
    d, low, high = newcombe(56, 70, 48, 80)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    d, low, high = newcombe(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.809)
    # Wilson for 0 of 10 still has width (the Wald interval would be [0, 0]).
    low, high = wilson(0, 10)
    assert low == pytest.approx(0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)


def test_the_verdict_says_too_small_to_conclude_when_it_is() -> None:
    few = compare(MIN_ARM - 1, 30, 400, 40)
    assert not few.conclusive
    assert few.verdict == (
        f"too small to conclude: each arm needs at least {MIN_ARM} finished runs "
        f"(treated {MIN_ARM - 1}, held out 400)"
    )
    unclear = compare(400, 60, 60, 5)
    assert not unclear.conclusive and unclear.low < 0 < unclear.high
    assert unclear.verdict.startswith("too small to conclude: the 95% interval -3.6 to +12.7")
    clear = compare(4000, 600, 600, 50)
    assert clear.conclusive and clear.verdict.startswith("treated adds +6.7 points")
    worse = compare(4000, 200, 600, 60)
    assert worse.conclusive and worse.verdict.startswith("treated loses -5.0 points")


def test_the_sequential_test_needs_strong_evidence() -> None:
    assert sequential_ratio(500, 1000, 500, 1000) < 1
    assert sequential_ratio(600, 4000, 50, 600) > 20
    assert compare(4000, 600, 600, 50).sequential
    assert not compare(400, 60, 60, 5).sequential

"""bench/learning.py's model, seeded and small: the learned ladder reaches customers with fewer
messages than the fixed one, and the uplift interval covers the true uplift about 95% of the
time."""

from __future__ import annotations

from bench.learning import coverage, ladders


def test_the_learned_order_reaches_customers_with_fewer_messages() -> None:
    results = ladders(3000, seed=11)
    fixed, learned, costed = results["fixed"], results["learned"], results["costed"]
    # The same customers react (same draws, every channel still tried) ...
    assert learned.reached == fixed.reached > 0
    # ... with fewer messages before their reaction, and fewer messages in all.
    assert learned.to_reach < fixed.to_reach
    assert learned.messages < fixed.messages
    # Weighing each rung's cost cuts SMS spend, and conversions hold.
    assert costed.sms_spend < 0.8 * fixed.sms_spend
    assert costed.messages < learned.messages
    assert costed.converted >= fixed.converted * 0.98
    assert learned.converted >= fixed.converted


def test_the_interval_covers_the_true_uplift_about_95_percent_of_the_time() -> None:
    found = coverage(200, 2000, seed=3)
    assert 0.90 <= found.rate <= 0.99, found
    assert found.sequential_false_alarms / found.trials <= 0.05

"""``trigger.spread``: parsed with positions and hints, in the schema, part of the version only
when set, and each run's delay even over run ids and the same every time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from validation_cases import GOOD, check, only

from orchestrator.engine.ids import spread_delay, workflow_id
from orchestrator.engine.labels import static_details
from orchestrator.language.loader import load_all
from orchestrator.language.model import Scenario
from orchestrator.language.schema import scenario_schema

SPREAD = GOOD.replace("per: cart.id}", "per: cart.id, spread: 15m}")


def load(tmp: Path, text: str) -> Scenario:
    assert check(tmp, text) == []
    return load_all([tmp / "scenarios"], tmp / "templates")[0][0]


def test_spread_is_read_and_shown_in_the_run_details(tmp_path: Path) -> None:
    scenario = load(tmp_path, SPREAD)
    assert scenario.trigger.spread_s == 900
    details = static_details(scenario, "c-1", "cart-1")
    assert "- trigger: `cart_updated`, starts spread over 15m" in details


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        ("2d", "spread is at most 24h", "a longer delay is a wait step"),
        ("0s", "spread must be longer than zero", "30s, 15m"),
        ("soon", "spread: 'soon' is not a duration", "30s, 15m"),
    ],
)
def test_a_bad_spread_points_at_its_value_with_a_hint(
    tmp_path: Path, value: str, message: str, hint: str
) -> None:
    p = only(check(tmp_path, GOOD.replace("per: cart.id}", f"per: cart.id, spread: {value}}}")))
    assert message in p.message and hint in p.hint
    assert (p.line, p.column) == (2, 54)


def test_the_schema_knows_spread() -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    base = {"scenario": "s", "steps": [{"wait": "1h"}]}
    ok = {**base, "trigger": {"event": "x", "spread": "15m"}}
    assert list(validator.iter_errors(ok)) == []
    assert list(validator.iter_errors({**base, "trigger": {"event": "x", "spread": "soon"}}))


def test_spread_changes_the_version_and_its_absence_does_not(tmp_path: Path) -> None:
    plain = load(tmp_path, GOOD)
    spread = load(tmp_path, SPREAD)
    assert plain.version != spread.version
    again = load(tmp_path, GOOD)
    assert again.version == plain.version


def test_each_run_gets_its_own_delay_the_same_every_time() -> None:
    ids = [workflow_id("abandoned_cart", f"customer-{i}/cart-{i % 7}") for i in range(10_000)]
    delays = [spread_delay(wid, 600) for wid in ids]
    assert delays == [spread_delay(wid, 600) for wid in ids]  # a relayed event: same delay
    assert all(0 <= d < 600 for d in delays)
    # Even over the window: each tenth holds about a tenth of the runs.
    tenths = Counter(int(d // 60) for d in delays)
    assert sorted(tenths) == list(range(10))
    assert all(900 <= n <= 1100 for n in tenths.values()), tenths
    # Runs of one customer (and one key shared by customers) still land apart.
    one_customer = {spread_delay(workflow_id("s", f"customer-1/cart-{k}"), 600) for k in range(5)}
    shared_key = {spread_delay(workflow_id("s", f"customer-{c}/cart-1"), 600) for c in range(5)}
    assert len(one_customer) == 5 and len(shared_key) == 5

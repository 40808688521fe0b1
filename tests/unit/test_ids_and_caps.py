"""Run identity: ids are injective over arbitrary unicode, readable when plain, PII-free; a
scenario's own ladder that cannot fit its caps is reported."""

from __future__ import annotations

import os
from pathlib import Path

from harness import write_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.engine.ids import customer_ref, id_part, looks_personal, run_key, workflow_id
from orchestrator.language.capacity import cap_warnings
from orchestrator.language.loader import load_or_raise
from orchestrator.language.policy_syntax import parse_cap

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("OMNI_PROPERTY_EXAMPLES", "400"))
ids = st.text(min_size=1, max_size=90)
SHIPPED = load_or_raise([ROOT / "scenarios"], ROOT / "templates")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(ids, min_size=2, max_size=6, unique=True))
def test_id_parts_never_merge_two_values(values: list[str]) -> None:
    parts = [id_part(v) for v in values]
    assert len(set(parts)) == len(values), dict(zip(values, parts, strict=True))


@settings(max_examples=EXAMPLES, deadline=None)
@given(ids, ids, ids, ids)
def test_workflow_ids_are_injective_in_customer_and_key(c1: str, k1: str, c2: str, k2: str) -> None:
    cart = SHIPPED["abandoned_cart"]

    def wid(customer: str, key: str) -> str:
        return workflow_id(cart.id, run_key(cart, customer, {"cart": {"id": key}}))

    if (c1, k1) != (c2, k2):
        assert wid(c1, k1) != wid(c2, k2)
    else:
        assert wid(c1, k1) == wid(c2, k2)


def test_lossy_look_alikes_get_their_own_runs() -> None:
    look_alikes = ["a/x", "a_x", "a x", "a~2Fx", "josé-1", "josë-1", "李-1", "王-1", "x" * 200]
    parts = {v: customer_ref(v) for v in look_alikes}
    assert len(set(parts.values())) == len(look_alikes), parts
    assert customer_ref("a_x") == "a_x"  # plain ids stay readable
    assert customer_ref("cust-42.A:b") == "cust-42.A:b"
    assert customer_ref("a/x") == "a~2Fx"
    assert all(len(p) <= 64 for p in parts.values())


def test_personal_ids_are_hashed_in_ids_and_search_attributes() -> None:
    for personal in ["jane@example.com", "+1 555 010 9999", "+15550109999", "15550109999"]:
        assert looks_personal(personal)
        ref = customer_ref(personal)
        assert ref.startswith("~~") and len(ref) == 34
        assert "555" not in ref and "jane" not in ref
    for plain in ["42", "cust-1001", "1234567", "order-2026-11-25"]:
        assert not looks_personal(plain), plain
        assert customer_ref(plain) == plain


def test_per_key_runs_belong_to_one_customer(tmp_path: Path) -> None:
    scenarios = load_or_raise([ROOT / "scenarios"], ROOT / "templates")
    webinar = scenarios["webinar_reminder"]
    data = {"webinar": {"id": "w-12"}}
    one, two = (workflow_id(webinar.id, run_key(webinar, c, data)) for c in ("1", "2"))
    assert one == "webinar_reminder/customer-1/webinar-w-12"
    assert two == "webinar_reminder/customer-2/webinar-w-12"
    welcome = scenarios["welcome_series"]
    assert run_key(welcome, "42", {}) == "customer-42"


LADDER = """\
scenario: s
trigger: {event: cart_updated, per: cart.id}
frequency_cap: CAP
steps:
  - wait: 1h
  - escalate:
      - email: t/m
        wait: 4h
      - push: t/m
        wait: 2h
      - telegram: t/m
        wait: 2h
      - sms: t/m
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "t/m/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}",
    "t/m/push": "{% block title %}t{% endblock %}{% block body %}b{% endblock %}",
    "t/m/telegram": "{% block text %}t{% endblock %}",
    "t/m/sms": "{% block text %}t{% endblock %}",
}


def test_a_ladder_that_cannot_fit_its_own_cap_is_reported(tmp_path: Path) -> None:
    tight = write_scenario(tmp_path, LADDER.replace("CAP", "3 per 24h"), TEMPLATES)
    (warning,) = cap_warnings(tight)
    assert "4 messages within 1d but frequency_cap allows 3" in warning
    assert "sms at steps.2.rung4" in warning
    assert (
        cap_warnings(write_scenario(tmp_path, LADDER.replace("CAP", "4 per 1d"), TEMPLATES)) == []
    )
    sms_cap = write_scenario(tmp_path, LADDER.replace("CAP", "1 sms per 7d"), TEMPLATES)
    assert cap_warnings(sms_cap) == []
    (policy_warning,) = cap_warnings(sms_cap, [parse_cap("2 per 6h")])
    assert "the shop-wide policy allows 2" in policy_warning


def test_the_shipped_scenarios_fit_their_caps_and_the_default_policy() -> None:
    from orchestrator.engine.policies import FrequencyPolicy

    scenarios = load_or_raise([ROOT / "scenarios"], ROOT / "templates")
    for s in scenarios.values():
        assert cap_warnings(s, FrequencyPolicy().parsed()) == [], s.id

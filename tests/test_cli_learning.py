"""``omni simulate --history``: a scripted reaction history shows the learned order, the cost
rule and the holdout decision."""

from __future__ import annotations

import json
from pathlib import Path

from omni_command import ROOT, omni
from temporalio.testing import WorkflowEnvironment

from orchestrator.dev.simulator import SimEvent, parse_history, simulate
from orchestrator.engine.contacts import Contact
from orchestrator.engine.experiments import held_out
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import Scenario

EXAMPLE = ROOT / "docs" / "examples" / "learned_cart.yaml"
CONTACT = {
    "email": "a@example.com",
    "phone": "+15005550006",
    "telegram_chat_id": "123",
    "consents": {"email": True, "sms": True, "telegram": True},
}
HISTORY = {
    "telegram": [6, 5],
    "email": [9, 1],
    "sms": [12, 0],
    "shop": {"email": [1000, 200], "push": [800, 60], "telegram": [400, 40], "sms": [500, 10]},
}


def example() -> Scenario:
    return load_or_raise([EXAMPLE], ROOT / "templates")["learned_cart"]


async def test_a_scripted_history_shows_the_learned_order_and_the_cost_rule(
    time_env: WorkflowEnvironment,
) -> None:
    scenario = example()
    treated = next(f"{i}" for i in range(50) if not held_out("learned_cart", f"{i}", 10))
    cheap = {"cart": {**scenario.samples["cart_updated"]["cart"], "id": "c-5", "total": 5}}
    result = await simulate(
        scenario,
        [SimEvent("cart_updated", 0, cheap)],
        contact=Contact.model_validate({"id": treated, **CONTACT}),
        env=time_env,
        history=parse_history(json.dumps(HISTORY)),
    )
    sent = [e["channel"] for e in result.timeline if e["kind"] == "send"]
    assert sent == ["telegram", "email"]
    text = result.to_text()
    assert "order: telegram first: 5 of 6 past telegram messages got a reaction" in text
    assert "skipped: cost: expected 0.00996 × 5.00 = 0.05 < cost 1 segment × 0.08 = 0.08" in text
    assert "treated (holdout 10%)" in text


def test_the_cli_takes_a_history_and_refuses_a_bad_one(tmp_path: Path) -> None:
    contact = json.dumps({"id": "7", **CONTACT})
    done = omni(
        "simulate", str(EXAMPLE), "--json", "--contact", contact, "--history", json.dumps(HISTORY)
    )
    assert done.returncode == 0, done.stderr
    kinds = [e["kind"] for e in json.loads(done.stdout)["timeline"]]
    assert "decision" in kinds
    bad = omni("simulate", str(EXAMPLE), "--history", '{"fax": [1, 0]}')
    assert bad.returncode == 2
    assert "--history fax: [1, 0] is not [sent, reacted] of a channel" in bad.stderr

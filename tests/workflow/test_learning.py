"""Learned ladder order, costed rungs, holdout, split variants and the goal window, on the
time-skipping server: several customers with different histories on one worker."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from harness import FULL_CONTACT, write_scenario
from learning_harness import Fleet
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from orchestrator.engine.affinity import Tally
from orchestrator.engine.contacts import Contact
from orchestrator.engine.experiments import held_out, variant
from orchestrator.engine.runtime import PASSTHROUGH
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.model import Scenario

H = 3600
LEARNED = """
scenario: cart
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
{top}
steps:
  - escalate:
      - email: cart/reminder
        wait: 4h
      - push: cart/reminder
        wait: 2h
      - telegram: cart/reminder
        wait: 2h
      - sms: cart/last_call
        wait: 1h
    {ladder}
sample:
  cart_updated: {cart: {id: c-1, total: 42}}
  order_placed: {order: {id: o-1}}
"""
TEMPLATES = {
    "cart/reminder/email": "{% block subject %}Cart{% endblock %}{% block html %}h{% endblock %}",
    "cart/reminder/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}",
    "cart/reminder/telegram": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    # 170 GSM-7 characters: two segments.
    "cart/last_call/sms": "{% block text %}Last call for cart {{ cart.id }}. "
    + "x" * 140
    + "{% endblock %}",
    "cart/short/email": "{% block subject %}Short{% endblock %}{% block html %}s{% endblock %}",
    "cart/long/email": "{% block subject %}Long{% endblock %}{% block html %}l{% endblock %}",
}
#: Shop-wide: email does best, then push and telegram, SMS least.
SHOP = {
    "email": Tally(1000, 200),
    "push": Tally(1000, 100),
    "telegram": Tally(1000, 90),
    "sms": Tally(1000, 10),
}


def scenario(tmp: Path, top: str = "", ladder: str = "order: learned") -> Scenario:
    text = LEARNED.replace("{top}", top).replace("{ladder}", ladder)
    return write_scenario(tmp, text, TEMPLATES)


def contact(cid: str) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, "id": cid})


def decisions(state: object) -> list[str]:
    return [e.reason for e in state.timeline if e.kind == "decision"]  # type: ignore[attr-defined]


async def test_customers_with_different_histories_get_different_orders(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    history = {
        "fan-of-telegram": {"telegram": Tally(6, 5), "email": Tally(9, 1)},
        "fan-of-sms": {"sms": Tally(5, 4), "email": Tally(20, 0), "push": Tally(3, 0)},
    }
    customers = ["fan-of-telegram", "fan-of-sms", "newcomer"]
    async with Fleet(
        time_env,
        scenario(tmp_path),
        [contact(c) for c in customers],
        history=history,
        shop=SHOP,
    ) as fleet:
        for c in customers:
            await fleet.start(c)
        await fleet.at(1 * H)
        # The state query shows the decision while the run waits on its first rung.
        live = await fleet.handles["fan-of-telegram"].query(ScenarioWorkflow.state)
        assert any("telegram first: 5 of 6" in r for r in decisions(live))
        states = await fleet.results()
    assert fleet.sent_to("fan-of-telegram") == ["telegram", "email", "push", "sms"]
    assert fleet.sent_to("fan-of-sms") == ["sms", "telegram", "push", "email"]
    assert fleet.sent_to("newcomer") == ["email", "push", "telegram", "sms"]
    tg = decisions(states["fan-of-telegram"])[0]
    assert tg.startswith("order: telegram first: 5 of 6 past telegram messages got a reaction")
    assert "(estimate 37%, shop-wide 9%); order telegram 37% → email 16% → push 10% → sms 1%" in tg
    assert decisions(states["newcomer"])[0].startswith("order: as written: no email history")
    # Rungs keep their written paths (the funnel counts sms as rung 4 whatever its position)
    # and their own waits: telegram (2h), then email (4h).
    assert fleet.started is not None
    sends = [
        (e.step, round((fleet.send_log.entries[e.key].at - fleet.started).total_seconds() / H))
        for e in states["fan-of-telegram"].messages
    ]
    assert sends == [
        ("steps.1.rung3", 0),
        ("steps.1.rung1", 2),
        ("steps.1.rung2", 6),
        ("steps.1.rung4", 8),
    ]
    assert {s.outcome for s in states.values()} == {"exhausted"}


async def test_a_reaction_stops_a_learned_ladder_and_channels_without_address_skip(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    no_telegram = Contact.model_validate(
        {**FULL_CONTACT, "id": "no-chat", "telegram_chat_id": None}
    )
    history = {"no-chat": {"telegram": Tally(6, 5)}, "reader": {"push": Tally(4, 4)}}
    async with Fleet(
        time_env, scenario(tmp_path), [no_telegram, contact("reader")], history=history, shop=SHOP
    ) as fleet:
        await fleet.start("no-chat")
        await fleet.start("reader")
        await fleet.at(1 * H)
        await fleet.signal("reader", "message_clicked")
        states = await fleet.results()
    skipped = [(m.channel, m.reason) for m in states["no-chat"].messages if m.kind == "skip"]
    assert skipped == [("telegram", "no_address: no telegram address on file")]
    assert fleet.sent_to("no-chat") == ["email", "push", "sms"]
    assert fleet.sent_to("reader") == ["push"]
    assert states["reader"].outcome == "reacted"


async def test_a_rung_below_its_cost_is_skipped_with_the_numbers(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ladder = (
        "order: learned\n    value: cart.total\n    cost: {sms: 0.08 per segment, email: 0.001}"
    )
    history = {"never-sms": {"sms": Tally(20, 0)}, "texter": {"sms": Tally(4, 3)}}
    async with Fleet(
        time_env,
        scenario(tmp_path, ladder=ladder),
        [contact("never-sms"), contact("texter")],
        history=history,
        shop=SHOP,
    ) as fleet:
        await fleet.start("never-sms", {"cart": {"id": "c-9", "total": 10}})
        await fleet.start("texter", {"cart": {"id": "c-8", "total": 10}})
        states = await fleet.results()
    assert fleet.sent_to("never-sms") == ["email", "push", "telegram"]
    skip = next(m for m in states["never-sms"].messages if m.channel == "sms")
    # p = (10 x 11/1002 + 0) / (10 + 20) = 0.00366; 0.00366 x 10.00 = 0.037 < 2 x 0.08 = 0.16
    assert skip.reason == "cost: expected 0.00366 × 10.00 = 0.037 < cost 2 segments × 0.08 = 0.16"
    assert skip.step == "steps.1.rung4" and skip.status == "skipped"
    logged = fleet.send_log.entries[
        next(k for k in fleet.send_log.entries if "c-9" in k and k.endswith("/sms"))
    ]
    assert logged.status == "skipped" and logged.reason == skip.reason
    # The texter's SMS is worth it: sent, with the numbers noted.
    assert fleet.sent_to("texter")[0] == "sms"
    kept = [r for r in decisions(states["texter"]) if r.startswith("cost:")]
    # p = (0.11 + 3) / (10 + 4) = 0.222; email: (2.006 + 0) / 10 = 0.201
    assert kept == [
        "cost: expected 0.222 × 10.00 = 2.22 ≥ cost 2 segments × 0.08 = 0.16",
        "cost: expected 0.201 × 10.00 = 2.01 ≥ cost 1 message × 0.001 = 0.001",
    ]
    # Email's cost is weighed too, and passes for both.
    assert all("email" in fleet.sent_to(c) for c in ("never-sms", "texter"))


def pick(predicate: object, prefix: str, count: int = 1) -> list[str]:
    """Customer ids for which ``predicate(id)`` holds (the hash decides, so search)."""
    found = [f"{prefix}{i}" for i in range(200) if predicate(f"{prefix}{i}")]  # type: ignore[operator]
    return found[:count]


async def test_held_out_customers_get_nothing_but_their_goal_counts(
    time_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omni.sends")
    s = scenario(tmp_path, top="holdout: 50%\ngoal_window: 1d", ladder="order: fixed")
    out_buyer, out_idle, out_again = pick(lambda c: held_out("cart", c, 50), "out-", 3)
    in_buyer, in_idle = pick(lambda c: not held_out("cart", c, 50), "in-", 2)
    customers = [out_buyer, out_idle, out_again, in_buyer, in_idle]
    fleet = Fleet(time_env, s, [contact(c) for c in customers])
    fleet.options.max_restarts = 1  # a restart continues as new: the arm must carry over
    async with fleet:
        for c in customers:
            await fleet.start(c)
        await fleet.at(1 * H)
        await fleet.signal(in_buyer, "message_clicked")  # stops the ladder: "reacted" ...
        await fleet.signal(out_again, "cart_updated", {"cart": {"id": "c-1", "total": 50}})
        await fleet.at(3 * H)
        await fleet.signal(out_buyer, "order_placed")
        await fleet.at(10 * H)
        await fleet.signal(in_buyer, "order_placed")  # ... but the goal window still counts
        states = await fleet.results()
    for c in (out_buyer, out_idle, out_again):
        assert fleet.sent_to(c) == []
        assert not [m for box in fleet.providers.values() for m in box.sent if m.customer_id == c]
        reasons = {m.reason for m in states[c].messages}
        assert reasons == {"holdout: this customer is held out, so nothing is sent"}
        assert decisions(states[c])[0] == "held out: sends nothing (50% of customers)"
    assert states[out_buyer].outcome == "converted"
    assert states[out_idle].outcome == "held_out"
    assert states[out_again].outcome == "held_out" and states[out_again].generation == 1
    assert fleet.sent_to(in_buyer) == ["email"]
    assert states[in_buyer].outcome == "converted"
    assert fleet.sent_to(in_idle) == ["email", "push", "telegram", "sms"]
    assert states[in_idle].outcome == "exhausted"
    assert decisions(states[in_idle])[0] == "treated (holdout 50%)"
    # Arms recorded once per run (not again after continue-as-new), with the version.
    arms = sorted((r.customer_ref, r.experiment, r.arm, r.version) for r in fleet.arms.rows)
    expected = [
        (c, "holdout", "held_out" if c.startswith("out") else "treated", s.version)
        for c in customers
    ]
    assert arms == sorted(expected)
    # Held-out runs wait as if they had sent (the ladder's waits), then the rest of the window.
    idle = [e for e in states[out_idle].timeline if e.kind == "skip"]
    assert [e.step for e in idle] == [f"steps.1.rung{i}" for i in (1, 2, 3, 4)]
    assert [offset(fleet, e.at) for e in idle] == [0, 4, 6, 8]
    # Each held-back send logged once (replays log nothing), naming its run.
    run = fleet.handles[out_idle].id
    lines = [m for m in caplog.messages if m.split(" · run ")[-1].startswith(f"{run} ")]
    assert lines == [f"skipped {e.channel} `{e.template}` · run {run} (holdout)" for e in idle]
    assert offset(fleet, states[out_idle].timeline[-1].at) == 24
    # Each held-back send is in the send log as a skip (issue 23: Messages lists it, the
    # funnel counts it); a treated customer's log holds no holdout skip.
    for c in customers:
        held = sorted(
            (e.step, e.channel)
            for e in fleet.send_log.entries.values()
            if e.customer_id == c and (e.status, e.reason.split(":")[0]) == ("skipped", "holdout")
        )
        shown = [e for e in states[c].timeline if e.kind == "skip" and "holdout" in e.reason]
        assert held == sorted((e.step, e.channel) for e in shown)
        assert bool(held) == c.startswith("out")


def offset(fleet: Fleet, at: str) -> int:
    assert fleet.started is not None
    return round((datetime.fromisoformat(at) - fleet.started).total_seconds() / H)


SPLIT = """
scenario: cart
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
steps:
  - wait: 1h
  - split:
      short:
        - send: {email: cart/short}
      long:
        - send: {email: cart/long}
        - wait: 1h
        - send: {push: cart/reminder}
sample:
  cart_updated: {cart: {id: c-1, total: 42}}
"""


async def test_a_split_sends_each_customer_one_variant_and_records_it(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    s = write_scenario(tmp_path, SPLIT, TEMPLATES)
    customers = [f"ab-{i}" for i in range(8)]
    chosen = {c: variant("cart", "steps.2", c, ["short", "long"]) for c in customers}
    assert set(chosen.values()) == {"short", "long"}
    async with Fleet(time_env, s, [contact(c) for c in customers]) as fleet:
        for c in customers:
            await fleet.start(c)
        states = await fleet.results()
    for c in customers:
        templates = [m.template for m in states[c].messages]
        assert templates == (
            ["cart/short"] if chosen[c] == "short" else ["cart/long", "cart/reminder"]
        )
        assert decisions(states[c]) == [f"variant {chosen[c]} at steps.2"]
        # Only a holdout makes "nothing sent" a held-out outcome; the window still applies.
        assert states[c].outcome == "completed"
    assert sorted((r.customer_ref, r.experiment, r.arm) for r in fleet.arms.rows) == sorted(
        (c, "steps.2", chosen[c]) for c in customers
    )


async def test_learning_histories_replay(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """A run that ranked, weighed a cost and was assigned replays without non-determinism."""
    s = scenario(
        tmp_path,
        top="holdout: 10%",
        ladder="order: learned\n    value: cart.total\n    cost: {sms: 0.08 per segment}",
    )
    cid = pick(lambda c: not held_out("cart", c, 10), "replay-")[0]
    history = {cid: {"telegram": Tally(6, 5), "sms": Tally(20, 0)}}
    async with Fleet(time_env, s, [contact(cid)], history=history, shop=SHOP) as fleet:
        await fleet.start(cid, {"cart": {"id": "c-7", "total": 10}})
        await fleet.at(3 * H)
        await fleet.signal(cid, "order_placed")
        state = (await fleet.results())[cid]
        recorded = await fleet.handles[cid].fetch_history()
    assert state.outcome == "converted" and fleet.sent_to(cid) == ["telegram", "email"]
    replayer = Replayer(
        workflows=[ScenarioWorkflow],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
    )
    again = WorkflowHistory.from_json(recorded.workflow_id, recorded.to_json())
    result = await replayer.replay_workflow(again, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure

"""Escalation ladder, reactions, exits, skips, policies — on the time-skipping server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import FULL_CONTACT, Run, write_scenario
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.contacts import Contact
from orchestrator.language.model import Scenario

H = 3600
LADDER = """
scenario: cart
trigger: {event: cart_updated, when: cart.total > 0, per: cart.id, again: restart}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
exit: cart_emptied
{policies}
steps:
  - wait: 1h
  - escalate:
      - email: cart/reminder
        wait: 4h
      - push: cart/reminder
        wait: 2h
      - telegram: cart/reminder
        wait: 2h
      - sms: cart/last_call
sample:
  cart_updated: {cart: {id: c-1, total: 10}}
  order_placed: {order: {cart_id: c-1}}
"""
TEMPLATES = {
    "cart/reminder/email": "{% block subject %}Cart {{ cart.id }}{% endblock %}"
    "{% block html %}<p>{{ money(cart.total) }}</p>{% endblock %}",
    "cart/reminder/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}",
    "cart/reminder/telegram": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    "cart/last_call/sms": "{% block text %}Last call {{ cart.id }}{% endblock %}",
}


def ladder(tmp_path: Path, policies: str = "") -> Scenario:
    return write_scenario(tmp_path, LADDER.replace("{policies}", policies), TEMPLATES)


def contact(**changes: object) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, **changes})


async def test_no_reaction_reaches_every_rung(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        state = await run.result()
    assert run.sends(state) == [
        (1 * H, "email", "sent"),
        (5 * H, "push", "sent"),
        (7 * H, "telegram", "sent"),
        (9 * H, "sms", "sent"),
    ]
    assert state.outcome == "exhausted"
    assert [len(run.outbox[c].sent) for c in ("email", "push", "telegram", "sms")] == [1, 1, 1, 1]
    assert run.outbox["email"].sent[0].message.subject == "Cart c-1"


async def test_reaction_after_first_rung_stops_the_ladder(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(2 * H)
        await run.signal("message_opened", {"channel": "email"})
        state = await run.result()
    assert run.sends(state) == [(1 * H, "email", "sent")]
    assert state.engagement["opened"] is True
    assert sum(len(o.sent) for o in run.outbox.values()) == 1


async def test_goal_mid_wait_converts_and_sends_nothing_more(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(30 * 60)
        await run.signal("order_placed", {"order": {"cart_id": "other-cart"}})  # not this cart
        await run.at(3 * H)
        await run.signal("order_placed", {"order": {"cart_id": "c-1"}})
        state = await run.result()
    assert state.outcome == "converted"
    assert run.sends(state) == [(1 * H, "email", "sent")]
    exit_entry = state.timeline[-1]
    assert exit_entry.kind == "exit" and run.offset(exit_entry.at) == 3 * H


async def test_exit_event_ends_run(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(10 * 60)
        await run.signal("cart_emptied")
        state = await run.result()
    assert state.outcome == "exited"
    assert state.messages == []


async def test_missing_addresses_are_skipped_and_ladder_moves_on_at_once(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    bare = contact(push_subscriptions=[], telegram_chat_id=None)
    async with Run(time_env, ladder(tmp_path), bare) as run:
        await run.start()
        state = await run.result()
    assert run.sends(state) == [
        (1 * H, "email", "sent"),
        (5 * H, "push", "skipped"),
        (5 * H, "telegram", "skipped"),
        (5 * H, "sms", "sent"),
    ]
    reasons = [m.reason for m in state.messages if m.status == "skipped"]
    assert all(r.startswith("no_address") for r in reasons)
    assert state.outcome == "exhausted"


async def test_marketing_without_consent_is_skipped(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    refused = contact(consents={"email": False, "push": True, "telegram": True})
    async with Run(time_env, ladder(tmp_path), refused) as run:
        await run.start()
        state = await run.result()
    by_channel = {m.channel: m for m in state.messages}
    assert by_channel["email"].reason == "no_consent: customer refused"
    assert by_channel["sms"].reason == "no_consent: never granted"
    assert run.outbox["email"].sent == [] and run.outbox["sms"].sent == []
    assert by_channel["push"].status == "sent"


def _next_utc(hour: int, minute: int, after: datetime) -> datetime:
    moment = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment if moment > after else moment + timedelta(days=1)


async def test_quiet_hours_defer_the_send_to_the_window_end(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = ladder(tmp_path, 'quiet_hours: "21:00-09:00"')
    start = _next_utc(20, 30, await time_env.get_current_time() + timedelta(minutes=1))
    async with Run(time_env, scenario, contact(timezone="UTC")) as run:
        await run.start(at=start)
        state = await run.result()
    first = state.messages[0]
    assert (first.channel, first.status) == ("email", "sent")
    # Due at 21:30 (inside quiet hours): held until 09:00 the next morning.
    assert datetime.fromisoformat(first.at).astimezone(UTC).strftime("%H:%M") == "09:00"
    assert run.offset(first.deferred_from) == 1 * H
    assert run.offset(first.at) == 12 * H + 30 * 60


async def test_quiet_hours_in_customer_time_zone_skip_mode(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = ladder(tmp_path, "quiet_hours: {window: '21:00-09:00', action: skip}")
    # 20:30 in Tokyo is 11:30 UTC.
    start = _next_utc(11, 30, await time_env.get_current_time() + timedelta(minutes=1))
    async with Run(time_env, scenario, contact(timezone="Asia/Tokyo")) as run:
        await run.start(at=start)
        state = await run.result()
    first = state.messages[0]
    assert (first.channel, first.status, first.reason) == ("email", "skipped", "quiet_hours")
    assert run.outbox["email"].sent == []


async def test_frequency_cap_skips_once_reached(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path, "frequency_cap: 2 per 24h"), contact()) as run:
        await run.start()
        state = await run.result()
    statuses = [(m.channel, m.status) for m in state.messages]
    assert statuses == [
        ("email", "sent"),
        ("push", "sent"),
        ("telegram", "skipped"),
        ("sms", "skipped"),
    ]
    assert state.messages[2].reason == "frequency_cap: 2 per 1d reached"


@pytest.mark.parametrize("again", ["restart"])
async def test_new_trigger_restarts_the_waits(
    time_env: WorkflowEnvironment, tmp_path: Path, again: str
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(30 * 60)
        await run.signal("cart_updated", {"cart": {"id": "c-1", "total": 20}}, event_id="t1")
        await run.at(40 * 60)
        # The same event delivered again (at-least-once) must not restart a second time.
        await run.signal("cart_updated", {"cart": {"id": "c-1", "total": 20}}, event_id="t1")
        await run.at(2 * H)
        await run.signal("message_clicked")
        state = await run.result()
    assert state.generation == 1
    assert run.sends(state) == [(90 * 60, "email", "sent")]
    events = [e.event for e in state.timeline if e.kind == "event"]
    assert events == ["cart_updated", "cart_updated", "message_clicked"]


async def test_trigger_condition_false_starts_nothing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start({"cart": {"id": "c-1", "total": 0}})
        state = await run.result()
    assert state.outcome == "not_triggered"
    assert state.messages == []


async def test_duplicate_reaction_and_goal_events_are_dropped(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(2 * H)
        await run.signal("message_opened", event_id="open-1")
        await run.signal("message_opened", event_id="open-1")
        state = await run.result()
    events = [e.event for e in state.timeline if e.kind == "event"]
    assert events == ["cart_updated", "message_opened"]

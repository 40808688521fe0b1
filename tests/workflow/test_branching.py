"""wait_until, if, first_of, wait_for, stop, continue-as-new and the state query."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from harness import FULL_CONTACT, Run
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.contacts import Contact
from orchestrator.engine.messages import RunOptions
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import Scenario

ROOT = Path(__file__).resolve().parents[2]
H = 3600


def shipped(name: str) -> Scenario:
    return load_or_raise([ROOT / "scenarios"], ROOT / "templates")[name]


def contact(**changes: object) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, **changes})


async def morning(env: WorkflowEnvironment) -> datetime:
    """The next 10:00 UTC: outside every shipped scenario's quiet hours for a UTC contact."""
    now = await env.get_current_time()
    moment = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


async def webinar_at(env: WorkflowEnvironment, hours_ahead: float) -> dict[str, object]:
    starts = await env.get_current_time() + timedelta(hours=hours_ahead)
    return {
        "webinar": {
            "id": "w-1",
            "title": "Live",
            "url": "https://shop.test/w",
            "starts_at": starts.isoformat(),
        }
    }


async def test_webinar_reminders_fall_back_from_telegram_to_sms(
    time_env: WorkflowEnvironment,
) -> None:
    async with Run(time_env, shipped("webinar_reminder"), contact(telegram_chat_id=None)) as run:
        data = await webinar_at(time_env, 48)
        await run.start(data)
        state = await run.result()
    assert run.sends(state) == [
        (24 * H, "email", "sent"),
        (48 * H - 15 * 60, "telegram", "skipped"),
        (48 * H - 15 * 60, "sms", "sent"),
        (48 * H, "telegram", "skipped"),
        (48 * H, "sms", "sent"),
    ]
    assert [o.template for o in run.providers["sms"].sent] == [
        "webinar/starting_soon",
        "webinar/started",
    ]


async def test_webinar_click_suppresses_the_late_nudges(time_env: WorkflowEnvironment) -> None:
    async with Run(time_env, shipped("webinar_reminder"), contact()) as run:
        await run.start(await webinar_at(time_env, 48))
        await run.at(30 * H)
        await run.signal("message_clicked", {"url": "https://shop.test/w"})
        state = await run.result()
    assert run.sends(state) == [(24 * H, "email", "sent")]
    assert state.outcome == "reacted"


async def test_moment_already_passed_is_skipped_not_sent_late(
    time_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="omni.sends")
    async with Run(time_env, shipped("webinar_reminder"), contact()) as run:
        await run.start(await webinar_at(time_env, 2))  # registered two hours before the start
        await run.at(H)
        await run.signal("webinar_joined")
        state = await run.result()
    email = state.messages[0]
    assert (email.channel, email.status) == ("email", "skipped")
    assert email.reason.startswith("too_late")
    # Logged once (replays log nothing), naming the run: as `omni dev` prints it.
    skipped = [m for m in caplog.messages if "(too_late)" in m]
    assert run.handle is not None
    assert skipped == [f"skipped email `{email.template}` · run {run.handle.id} (too_late)"]
    assert run.providers["email"].sent == []
    assert state.outcome == "converted"


async def test_wait_for_event_branch(time_env: WorkflowEnvironment) -> None:
    async with Run(time_env, shipped("browse_followup"), contact()) as run:
        await run.start()
        await run.at(5 * H)
        await run.signal("order_placed", {"order": {"id": "o-1", "product_ids": ["p-9"]}})  # other
        await run.at(6 * H)
        await run.signal("order_placed", {"order": {"id": "o-2", "product_ids": ["p-5"]}})
        state = await run.result()
    assert [(o, c, m) for o, c, m in run.sends(state)] == [(6 * H, "email", "sent")]
    assert run.providers["email"].sent[0].template == "browse/thanks"
    assert state.outcome == "stopped: bought"


async def test_wait_for_timeout_branch(time_env: WorkflowEnvironment) -> None:
    async with Run(time_env, shipped("browse_followup"), contact()) as run:
        await run.start()
        state = await run.result()
    assert run.sends(state) == [(48 * H, "email", "sent")]
    assert run.providers["email"].sent[0].template == "browse/reminder"
    assert state.outcome == "stopped: not_interested"


async def test_if_else_on_engagement(time_env: WorkflowEnvironment) -> None:
    async with Run(time_env, shipped("welcome_series"), contact()) as run:
        await run.start(at=await morning(time_env))
        await run.at(2 * H)
        await run.signal("message_opened")
        await run.result()
    templates = [o.template for o in run.providers["email"].sent]
    assert templates == ["welcome/hello", "welcome/tips", "welcome/first_order_discount"]
    assert run.providers["push"].sent == []


async def test_state_query_mid_run(time_env: WorkflowEnvironment) -> None:
    async with Run(time_env, shipped("welcome_series"), contact()) as run:
        await run.start(at=await morning(time_env))
        await run.at(H)
        assert run.handle is not None
        state = await run.handle.query(ScenarioWorkflow.state)
        assert state.current_step == "steps.2"
        assert run.offset(state.next_wakeup) == 2 * 24 * H
        assert [(m.channel, m.template, m.status) for m in state.messages] == [
            ("email", "welcome/hello", "sent")
        ]
        assert state.version == shipped("welcome_series").version
        await run.signal("order_placed")
        assert (await run.result()).outcome == "converted"


async def test_many_restarts_continue_as_new(time_env: WorkflowEnvironment) -> None:
    scenario = shipped("abandoned_cart")
    scenario.quiet_hours = None
    run = Run(time_env, scenario, contact(), options=RunOptions(index=False, max_restarts=2))
    async with run:
        await run.start()
        assert run.handle is not None
        first_run = run.handle.result_run_id
        for i in range(5):
            await run.at((i + 1) * 10 * 60)
            await run.signal("cart_updated", scenario.samples["cart_updated"], event_id=f"r{i}")
        await run.at(2 * H)
        await run.signal("order_placed", {"order": {"cart_id": "c-981"}})
        state = await run.result()
        first_history = await time_env.client.get_workflow_handle(
            run.handle.id, run_id=first_run
        ).fetch_history()
    assert state.generation == 5
    assert state.outcome == "converted"
    last = first_history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    # The timeline and dedupe state survive the continue-as-new.
    assert [e.event for e in state.timeline if e.kind == "event"][:2] == ["cart_updated"] * 2
    assert run.sends(state) == [(50 * 60 + H, "email", "sent")]


async def test_wait_for_a_click(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    from harness import write_scenario

    scenario = write_scenario(
        tmp_path,
        """
scenario: nudge
trigger: signed_up
steps:
  - send: {email: n/hello}
  - wait_for: {event: message_clicked, timeout: 1d}
    on_event:
      - send: {email: n/thanks}
    on_timeout:
      - send: {sms: n/nudge}
sample:
  signed_up: {}
""",
        {
            "n/hello/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}",
            "n/thanks/email": "{% block subject %}t{% endblock %}{% block html %}h{% endblock %}",
            "n/nudge/sms": "{% block text %}n{% endblock %}",
        },
    )
    async with Run(time_env, scenario, contact()) as run:
        await run.start(at=await morning(time_env))
        await run.at(H)
        await run.signal("message_clicked")
        state = await run.result()
    assert [o.template for o in run.providers["email"].sent] == ["n/hello", "n/thanks"]
    assert run.providers["sms"].sent == []
    assert state.engagement["clicked"] is True

"""A goal, exit or cancel that arrives while the engine is busy ends the run with its outcome.

Whatever is in flight — a send scheduled, held up inside the adapter (rate limit, connection),
deferred by quiet hours, a learned-order decision — the run ends ``converted``/``exited``/
``cancelled``, never FAILED, and every send has a recorded fate: handed to the provider
before the event was seen → sent; not yet → not sent, ``stopped_by_goal`` (README, "A run's
end"). Several customers share one worker and one cart id, so a stop of one never touches
another's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from accepting import AcceptingChannel
from harness import FULL_CONTACT, Run, eventually, write_scenario
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from channels.base import Delivery, Outbound, TransientChannelError
from orchestrator.dev import binaries
from orchestrator.engine.activities import Activities
from orchestrator.engine.affinity import Tally
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.definitions import remember
from orchestrator.engine.learning import InMemoryReactionStats, Learning
from orchestrator.engine.messages import CancelRun
from orchestrator.engine.runtime import build_worker
from orchestrator.language.model import CHANNELS

SEND_AT_ONCE = """
scenario: race
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
exit: {event: account_closed}
steps:
  - escalate:
      - email: race/reminder
        wait: 1h
      - sms: race/reminder
sample:
  cart_updated: {cart: {id: c-1}}
  order_placed: {order: {cart_id: c-1}}
  account_closed: {}
"""
TEMPLATES = {
    "race/reminder/email": (
        "{% block subject %}Cart {{ trigger.cart.id }}{% endblock %}"
        "{% block html %}<p>{{ contact.first_name }}</p>{% endblock %}"
    ),
    "race/reminder/sms": "{% block text %}Cart {{ trigger.cart.id }}{% endblock %}",
}


class GatedChannel(AcceptingChannel):
    """An adapter that holds every message before its handover until the test opens the gate:
    a provider connection or rate limit that answers late."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.gate = asyncio.Event()
        self.waiting: list[str] = []
        #: Customers whose send attempt is over (delivered, refused at the handover, or
        #: cancelled): a definite signal, instead of sleeping to see nothing arrive.
        self.over: list[str] = []

    async def send(self, out: Outbound) -> Delivery:
        self.waiting.append(out.customer_id)
        try:
            await self.gate.wait()
            return await super().send(out)
        finally:
            self.over.append(out.customer_id)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test's own: the test server stops skipping time for
    good once an activity completes after its run ended (which these tests make happen on
    purpose), so sharing the session's server would stall the tests after them."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binaries.test_server()
    )
    async with env:
        yield env


def contact(cid: str) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, "id": cid, "first_name": f"<b>{cid}</b>\r\nX"})


async def status_of(run: Run) -> WorkflowExecutionStatus | None:
    assert run.handle is not None
    return (await run.handle.describe()).status


@pytest.mark.parametrize("revision", [0, 1])
async def test_goal_while_send_is_held_in_the_adapter(
    time_env: WorkflowEnvironment, tmp_path: Path, revision: int
) -> None:
    scenario = write_scenario(tmp_path, SEND_AT_ONCE, TEMPLATES)
    remember(scenario)  # revision 1 sends find their templates by version
    email = GatedChannel("email")
    # Three customers, two of them sharing cart id "shared"; one worker, one email adapter.
    runs: list[Run] = []
    for cid in ("ann", "bob", "cat"):
        run = Run(time_env, scenario, contact(cid))
        run.options.revision = revision
        run.providers = {**run.providers, "email": email}
        runs.append(run)
    first = runs[0]
    directory = InMemoryDirectory([r.contact for r in runs])
    acts = Activities(
        directory=directory,
        send_log=first.send_log,
        channels=dict(first.providers),
        events=first.events,
    )
    async with build_worker(
        time_env.client, task_queue=first.queue, activities=acts, fail_fast=True
    ):
        # Every run on the one worker (same queue, same adapter).
        for run in runs[1:]:
            run.queue, run.send_log, run.providers = first.queue, first.send_log, first.providers
            run.events = first.events
        carts = {"ann": "shared", "bob": "shared", "cat": "c-3"}
        for run in runs:
            await run.start({"cart": {"id": carts[run.contact.id]}}, event_id=f"t-{run.contact.id}")
        await eventually(lambda: _true(len(email.waiting) == 3))
        # Ann orders while her email waits in the adapter; Bob's account closes.
        await runs[0].signal("order_placed", {"order": {"cart_id": "shared"}})
        await runs[1].signal("account_closed", {})
        ann, bob = await runs[0].result(), await runs[1].result()
        email.gate.set()
        # Cat's email goes out on time; then she orders.
        await eventually(lambda: _true(any(o.customer_id == "cat" for o in email.sent)))
        await runs[2].signal("order_placed", {"order": {"cart_id": "c-3"}})
        cat = await runs[2].result()
        assert ann.outcome == "converted" and bob.outcome == "exited", (ann, bob)
        assert cat.outcome == "converted"
        for run in runs:
            assert await status_of(run) == WorkflowExecutionStatus.COMPLETED
        # Nothing reached the provider for Ann or Bob, ever; Cat got hers, once.
        await eventually(lambda: _true(sorted(email.over) == ["ann", "bob", "cat"]))
        assert [o.customer_id for o in email.sent] == ["cat"]
        assert "cat" in email.sent[0].message.subject or "c-3" in email.sent[0].message.subject
        fates = {m.reason for m in ann.messages}
        assert "stopped_by_goal" in fates, ann.messages
        assert "stopped_by_exit" in {m.reason for m in bob.messages}, bob.messages
        logged = {k: r.reason for k, r in first.send_log.entries.items()}
        assert sorted(logged.values()).count("stopped_by_goal") == 1, logged
        assert sorted(logged.values()).count("stopped_by_exit") == 1, logged
        assert [m.status for m in cat.messages] == ["sent"]


async def test_cancel_while_send_is_held_ends_cancelled(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, SEND_AT_ONCE, TEMPLATES)
    email = GatedChannel("email")
    run = Run(time_env, scenario, contact("dan"))
    run.providers = {**run.providers, "email": email}
    async with run:
        await run.start({"cart": {"id": "c-9"}})
        await eventually(lambda: _true(email.waiting == ["dan"]))
        assert run.handle is not None
        await run.handle.signal("cancel", CancelRun(reason="support: customer asked"))
        state = await run.result()
        email.gate.set()
        assert state.outcome == "cancelled"
        assert "stopped_by_cancel" in {m.reason for m in state.messages}
        assert await status_of(run) == WorkflowExecutionStatus.COMPLETED
        await eventually(lambda: _true(email.over == ["dan"]))
        assert email.sent == []


async def test_goal_in_the_same_batch_as_the_trigger(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The shop posts [cart_updated, order_placed] at checkout: converted; the reminder is
    either stopped or (if it was handed over first) recorded sent — never lost track of."""
    scenario = write_scenario(tmp_path, SEND_AT_ONCE, TEMPLATES)
    run = Run(time_env, scenario, contact("eve"))
    async with run:
        await run.start({"cart": {"id": "c-5"}})
        await run.signal("order_placed", {"order": {"cart_id": "c-5"}})
        state = await run.result()
        assert state.outcome == "converted"
        assert await status_of(run) == WorkflowExecutionStatus.COMPLETED
        [message] = state.messages
        logged = run.send_log.entries[message.key]
        if message.status == "sent":  # handed over before the order was seen
            await eventually(lambda: _true(len(run.providers["email"].sent) == 1))
        else:  # stopped: its handover is refused whenever the attempt reaches it
            assert (message.reason, logged.reason) == ("stopped_by_goal", "stopped_by_goal")
            assert run.providers["email"].sent == []


async def test_goal_during_a_quiet_hours_hold(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    text = SEND_AT_ONCE.replace("steps:", 'quiet_hours: "00:00-23:59"\nsteps:', 1)
    scenario = write_scenario(tmp_path, text, TEMPLATES)
    run = Run(time_env, scenario, contact("fay"))
    async with run:
        await run.start({"cart": {"id": "c-6"}})
        await run.at(3600)  # held until the window ends, a day later
        await run.signal("order_placed", {"order": {"cart_id": "c-6"}})
        state = await run.result()
    assert state.outcome == "converted"
    assert [(m.channel, m.status, m.reason) for m in state.messages] == [
        ("email", "skipped", "stopped_by_goal")
    ]
    assert run.providers["email"].sent == []
    logged = list(run.send_log.entries.values())
    assert [(e.status, e.reason) for e in logged] == [("skipped", "stopped_by_goal")]


class FailingChannel(AcceptingChannel):
    """A provider that answers 4xx/timeouts: every attempt is retried later."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.attempts = 0

    async def send(self, out: Outbound) -> Delivery:
        self.attempts += 1
        raise TransientChannelError("SMTP 451: try later")


async def test_exit_while_the_send_is_retrying(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, SEND_AT_ONCE, TEMPLATES)
    email = FailingChannel("email")
    run = Run(time_env, scenario, contact("gus"))
    run.providers = {**run.providers, "email": email}
    async with run:
        await run.start({"cart": {"id": "c-7"}})
        await eventually(lambda: _true(email.attempts >= 2))
        await run.signal("account_closed", {})
        state = await run.result()
    assert state.outcome == "exited"
    assert await status_of(run) == WorkflowExecutionStatus.COMPLETED
    assert [(m.status, m.reason) for m in state.messages] == [("skipped", "stopped_by_exit")]
    assert run.providers["sms"].sent == []


async def _true(value: bool) -> bool:
    return value


LEARNED = SEND_AT_ONCE.replace(
    "      - sms: race/reminder\n",
    "      - sms: race/reminder\n        wait: 1h\n    order: learned\n",
    1,
)


class SlowStats(InMemoryReactionStats):
    """Reaction statistics from a store that answers only when the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.asked: list[str] = []

    async def of_customer(self, customer_id: str, kinds: Sequence[str]) -> dict[str, Tally]:
        self.asked.append(customer_id)
        await self.gate.wait()
        return await super().of_customer(customer_id, kinds)


async def test_goal_while_the_learned_order_is_decided(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, LEARNED, TEMPLATES)
    remember(scenario)
    stats = SlowStats()
    runs = [Run(time_env, scenario, contact(cid)) for cid in ("hal", "ivy")]
    first = runs[0]
    acts = Activities(
        directory=InMemoryDirectory([r.contact for r in runs]),
        send_log=first.send_log,
        channels=dict(first.providers),
        events=first.events,
    )
    worker = build_worker(
        time_env.client,
        task_queue=first.queue,
        activities=acts,
        learning=Learning.beside(acts, stats=stats),
        fail_fast=True,
    )
    async with worker:
        for run in runs:
            run.queue, run.send_log, run.providers, run.events = (
                first.queue,
                first.send_log,
                first.providers,
                first.events,
            )
            await run.start({"cart": {"id": "shared"}}, event_id=f"t-{run.contact.id}")
        await eventually(lambda: _true(sorted(stats.asked) == ["hal", "ivy"]))
        await runs[0].signal("order_placed", {"order": {"cart_id": "shared"}})
        hal = await runs[0].result()
        stats.gate.set()
        await eventually(
            lambda: _true(any(o.customer_id == "ivy" for o in first.providers["email"].sent))
        )
        await runs[1].signal("order_placed", {"order": {"cart_id": "shared"}})
        ivy = await runs[1].result()
    assert hal.outcome == "converted" and hal.messages == []
    assert await status_of(runs[0]) == WorkflowExecutionStatus.COMPLETED
    assert ivy.outcome == "converted"
    assert [o.customer_id for ch in CHANNELS for o in first.providers[ch].sent] == ["ivy"]

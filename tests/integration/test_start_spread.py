"""``trigger.spread`` on a real Temporal dev server: each run's first step waits its own share of
the spread (Temporal's start delay), the burst's runs start apart, every customer still gets
only their own message, and an order placed during the delay means no reminder at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from harness import FULL_CONTACT, write_scenario
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.outbox import OutboxChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.ids import spread_delay
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.model import CHANNELS
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

SPREAD_S = 6
SPREAD_CART = f"""
scenario: spread_cart
trigger: {{event: cart_updated, per: cart.id, spread: {SPREAD_S}s}}
goal: {{event: order_placed, when: order.cart_id == trigger.cart.id}}
steps:
  - wait: 1s
  - escalate:
      - email: spread/reminder
        wait: 4h
      - sms: spread/reminder
sample:
  cart_updated: {{cart: {{id: c-1, url: "https://shop.example/c"}}}}
  order_placed: {{order: {{cart_id: c-1}}}}
"""
TEMPLATES = {
    "spread/reminder/email": (
        "{% block subject %}{{ contact.first_name }} {{ cart.id }}{% endblock %}"
        "{% block html %}<a href='{{ cart.url }}'>{{ cart.id }}</a>{% endblock %}"
    ),
    "spread/reminder/sms": "{% block text %}{{ cart.id }}{% endblock %}",
}
# A name a shop may send: markup, a header break, unicode.
HOSTILE = "<b>Zoë</b>\r\nBcc: all@example.com 🛒"


def cart(cid: str) -> dict[str, object]:
    return {"cart": {"id": cid, "url": f"https://shop.example/{cid}?x=<script>"}}


def first(history: WorkflowHistory, kind: EventType.ValueType) -> datetime:
    """When the history's first event of this kind happened."""
    return next(e.event_time.ToDatetime() for e in history.events if e.event_type == kind)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_runs_start_spread_and_each_customer_gets_only_their_own(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, SPREAD_CART, TEMPLATES)
    assert scenario.trigger.spread_s == SPREAD_S
    tag = uuid.uuid4().hex[:6]
    ann, bob, cem = (f"{n}-{tag}" for n in ("ann", "bob", "cem"))
    names = {ann: "Ann", bob: "Bob", cem: HOSTILE}
    contacts = [
        Contact.from_json({**FULL_CONTACT, "id": c, "first_name": n, "email": f"{c}@example.com"})
        for c, n in names.items()
    ]
    outbox = {c: OutboxChannel(c) for c in CHANNELS}
    queue = f"spread-{uuid.uuid4()}"
    activities = Activities(
        directory=InMemoryDirectory(contacts), send_log=InMemorySendLog(), channels=dict(outbox)
    )
    engine = make_engine(await migrated_sqlite(tmp_path))
    router = Router(
        dev_env.client,
        {scenario.id: scenario},
        task_queue=queue,
        options=RunOptions(index=False),
        index=SqlRunIndex(sessions(engine)),
    )

    async def event(name: str, customer: str, data: dict[str, object]) -> list[str]:
        routed = await router.route(EventSignal(name, str(uuid.uuid4()), customer, data=data))
        return routed.started_or_signalled + routed.signalled

    try:
        async with build_worker(dev_env.client, task_queue=queue, activities=activities):
            await burst(dev_env, event, outbox, names)
    finally:
        await engine.dispose()


async def burst(
    env: WorkflowEnvironment,
    event: Callable[[str, str, dict[str, object]], Awaitable[list[str]]],
    outbox: dict[str, OutboxChannel],
    names: dict[str, str],
) -> None:
    ann, bob, cem = names
    # Interleaved: Ann has two carts, Bob shares Ann's first cart id, Cem has one.
    runs = {
        (ann, "A1"): await event("cart_updated", ann, cart("A1")),
        (bob, "A1"): await event("cart_updated", bob, cart("A1")),
        (ann, "A2"): await event("cart_updated", ann, cart("A2")),
        (cem, "C1"): await event("cart_updated", cem, cart("C1")),
    }
    wids = {who: started[0] for who, started in runs.items()}
    # Bob buys while his run is still waiting out its share of the spread: the order
    # reaches his run (and only his), which then sends nothing.
    assert await event("order_placed", bob, {"order": {"cart_id": "A1"}}) == [wids[bob, "A1"]]
    assert len(set(wids.values())) == 4  # one run per customer and cart
    delays = {who: spread_delay(wid, SPREAD_S) for who, wid in wids.items()}
    assert all(0 <= d < SPREAD_S for d in delays.values())
    assert len(set(delays.values())) == 4  # each run its own moment in the spread

    for who, wid in wids.items():
        history = await env.client.get_workflow_handle(wid).fetch_history()
        started = history.events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        backoff = started.workflow_execution_started_event_attributes
        asked = backoff.first_workflow_task_backoff.ToTimedelta()
        assert abs(asked - timedelta(seconds=delays[who])) < timedelta(milliseconds=2), who

    async def emails_arrived() -> bool:
        return len(outbox["email"].sent) >= 3

    await eventually(emails_arrived)
    handles: dict[tuple[str, str], WorkflowHandle[object, RunState]] = {
        who: env.client.get_workflow_handle(wid, result_type=RunState) for who, wid in wids.items()
    }
    bob_state = await asyncio.wait_for(handles[bob, "A1"].result(), 30)
    await asyncio.sleep(1.5)  # a fourth email, if any, would be on its way by now
    got = sorted((o.address, o.message.subject, o.message.html) for o in outbox["email"].sent)

    def html(cid: str) -> str:  # the shop's markup escaped, the cart its own
        return f"<a href='https://shop.example/{cid}?x=&lt;script&gt;'>{cid}</a>"

    assert got == [
        (f"{ann}@example.com", "Ann A1", html("A1")),
        (f"{ann}@example.com", "Ann A2", html("A2")),
        # A subject is one header line: the name's CR/LF become a space.
        (f"{cem}@example.com", "<b>Zoë</b> Bcc: all@example.com 🛒 C1", html("C1")),
    ]
    assert bob_state.outcome == "converted"
    assert not any(o.address.startswith(bob) for c in CHANNELS for o in outbox[c].sent)

    # No run's code ran before its share of the spread, Bob's included (a plain signal, his
    # order, does not cut the delay short: Temporal's rule); each email went out no sooner
    # than that plus the 1 s wait.
    for who, handle in handles.items():
        history = await handle.fetch_history()
        start = history.events[0].event_time.ToDatetime()
        slack = timedelta(milliseconds=50)
        delay = timedelta(seconds=delays[who])
        assert (
            first(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) - start >= delay - slack
        ), who
        if who[0] != bob:
            sent = first(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
            assert sent - start >= delay + timedelta(seconds=1) - slack, who
            await handle.terminate("test over")

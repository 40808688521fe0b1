"""``trigger.spread`` on a real Temporal dev server: each run's first step waits its own share of
the spread (Temporal's start delay), the burst's runs start apart, every customer still gets
only their own message, and an order or a cancel during the delay means no message at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from accepting import accepting
from harness import FULL_CONTACT, eventually, write_scenario
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.ids import id_part, spread_delay, workflow_id
from orchestrator.engine.messages import CancelRun, EventSignal, RunOptions, RunState
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


def wid_of(customer: str, cart_id: str) -> str:
    return workflow_id("spread_cart", f"customer-{id_part(customer)}/cart-{id_part(cart_id)}")


def first(history: WorkflowHistory, kind: EventType.ValueType) -> datetime:
    """When the history's first event of this kind happened."""
    return next(e.event_time.ToDatetime() for e in history.events if e.event_type == kind)


async def test_runs_start_spread_and_each_customer_gets_only_their_own(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, SPREAD_CART, TEMPLATES)
    assert scenario.trigger.spread_s == SPREAD_S
    # Customers whose runs that get an order or a cancel wait at least 2 s: time to send it.
    tag = next(
        t
        for t in (uuid.uuid4().hex[:6] for _ in range(1000))
        if spread_delay(wid_of(f"bob-{t}", "A1"), SPREAD_S) >= 2
        and spread_delay(wid_of(f"cem-{t}", "C2"), SPREAD_S) >= 2
    )
    ann, bob, cem = (f"{n}-{tag}" for n in ("ann", "bob", "cem"))
    names = {ann: "Ann", bob: "Bob", cem: HOSTILE}
    contacts = [
        Contact.model_validate(
            {**FULL_CONTACT, "id": c, "first_name": n, "email": f"{c}@example.com"}
        )
        for c, n in names.items()
    ]
    providers = accepting()
    queue = f"spread-{uuid.uuid4()}"
    activities = Activities(
        directory=InMemoryDirectory(contacts), send_log=InMemorySendLog(), channels=dict(providers)
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
            await burst(dev_env, event, providers, list(names))
    finally:
        await engine.dispose()


async def burst(
    env: WorkflowEnvironment,
    event: Callable[[str, str, dict[str, object]], Awaitable[list[str]]],
    providers: dict[str, RecordingChannel],
    customers: list[str],
) -> None:
    ann, bob, cem = customers
    # Interleaved: Ann has two carts, Bob shares Ann's first cart id, Cem has two.
    runs = {
        (ann, "A1"): await event("cart_updated", ann, cart("A1")),
        (bob, "A1"): await event("cart_updated", bob, cart("A1")),
        (cem, "C2"): await event("cart_updated", cem, cart("C2")),
        (ann, "A2"): await event("cart_updated", ann, cart("A2")),
        (cem, "C1"): await event("cart_updated", cem, cart("C1")),
    }
    wids = {who: started[0] for who, started in runs.items()}
    assert wids == {(c, k): wid_of(c, k) for c, k in runs}  # one run per customer and cart
    # While their runs wait out their share of the spread, Bob buys (the order reaches his
    # run and only his) and support cancels Cem's second cart.
    assert await event("order_placed", bob, {"order": {"cart_id": "A1"}}) == [wids[bob, "A1"]]
    await env.client.get_workflow_handle(wids[cem, "C2"]).signal("cancel", CancelRun("support"))
    delays = {who: spread_delay(wid, SPREAD_S) for who, wid in wids.items()}
    assert all(0 <= d < SPREAD_S for d in delays.values())
    assert len(set(delays.values())) == 5  # each run its own moment in the spread

    for who, wid in wids.items():
        history = await env.client.get_workflow_handle(wid).fetch_history()
        started = history.events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        backoff = started.workflow_execution_started_event_attributes
        asked = backoff.first_workflow_task_backoff.ToTimedelta()
        assert abs(asked - timedelta(seconds=delays[who])) < timedelta(milliseconds=2), who

    async def emails_arrived() -> bool:
        return len(providers["email"].sent) >= 3

    await eventually(emails_arrived, timeout=30)
    handles: dict[tuple[str, str], WorkflowHandle[object, RunState]] = {
        who: env.client.get_workflow_handle(wid, result_type=RunState) for who, wid in wids.items()
    }
    bought = await asyncio.wait_for(handles[bob, "A1"].result(), 30)
    cancelled = await asyncio.wait_for(handles[cem, "C2"].result(), 30)
    # No fourth email can come: the two ended runs sent nothing (their results, below) and
    # each open run has sent its one email and is in its 4h wait.
    for who in ((ann, "A1"), (ann, "A2"), (cem, "C1")):
        now = await handles[who].query("state", result_type=RunState)
        assert [(m.channel, m.status) for m in now.messages] == [("email", "sent")], who
        assert now.next_wakeup and not now.outcome, (who, now.current_step)
    got = sorted((o.address, o.message.subject, o.message.html) for o in providers["email"].sent)

    def html(cid: str) -> str:  # the shop's markup escaped, the cart its own
        return f"<a href='https://shop.example/{cid}?x=&lt;script&gt;'>{cid}</a>"

    assert got == [
        (f"{ann}@example.com", "Ann A1", html("A1")),
        (f"{ann}@example.com", "Ann A2", html("A2")),
        # A subject is one header line: the name's CR/LF become a space.
        (f"{cem}@example.com", "<b>Zoë</b> Bcc: all@example.com 🛒 C1", html("C1")),
    ]
    assert (bought.outcome, bought.messages) == ("converted", [])
    assert (cancelled.outcome, cancelled.messages) == ("cancelled", [])
    assert not any(o.address.startswith(bob) for c in CHANNELS for o in providers[c].sent)

    # No run's code ran before its share of the spread, Bob's and Cem's cancelled one included
    # (a plain signal does not end the delay: Temporal's rule), though their signals came
    # before the first step; each email went out no sooner than the delay plus the 1 s wait.
    slack = timedelta(milliseconds=50)
    for who, handle in handles.items():
        history = await handle.fetch_history()
        start = history.events[0].event_time.ToDatetime()
        task = first(history, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        assert task - start >= timedelta(seconds=delays[who]) - slack, who
        signalled = [
            e.event_time.ToDatetime()
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        if who in ((bob, "A1"), (cem, "C2")):
            assert len(signalled) == 2 and signalled[1] < task, who
        else:
            sent = first(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
            assert sent - start >= timedelta(seconds=delays[who] + 1) - slack, who
            await handle.terminate("test over")

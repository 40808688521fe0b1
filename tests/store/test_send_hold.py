"""A send waits while its customer has stored events that have not reached Temporal (README,
"Events accepted while Temporal is down"): the send activity against the real outbox table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from harness import FULL_CONTACT
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.hold import HOLD, TRIED
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.store.events import EventLog
from orchestrator.store.tables import EventRow

RUN = "cart/customer-h1/cart-shared"


def send(customer: str, key: str) -> SendRequest:
    return SendRequest(
        key=f"{key}/g0/steps.1.rung2/email",
        scenario="cart",
        category="marketing",
        step="steps.1.rung2",
        channel="email",
        template="t/x",
        customer_id=customer,
        now=datetime.now(UTC).isoformat(),
        trigger={"cart": {"id": "shared"}},
        event={},
        sources={"": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}"},
    )


def reply(customer: str) -> dict[str, Any]:
    return {
        "name": "message_replied",
        "event_id": f"{customer}-reply",
        "customer_id": customer,
        "occurred_at": "",
        "data": {"channel": "email"},
        "contact": None,
    }


async def test_a_send_waits_for_its_customers_undelivered_events(
    db: async_sessionmaker[AsyncSession],
) -> None:
    events = EventLog(db)
    provider = RecordingChannel("email")
    contacts = [Contact.model_validate({**FULL_CONTACT, "id": c}) for c in ("h1", "h2")]
    activities = Activities(
        directory=InMemoryDirectory(contacts),
        send_log=InMemorySendLog(),
        channels={"email": provider},
        pending=events,
    )
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_id=RUN)
    # h1's reply is stored; its request found Temporal down, so it is not delivered.
    await events.claim("h1-reply", "message_replied", "h1", [], reply("h1"))
    before = datetime.now(UTC)
    held = await env.run(activities.send, send("h1", RUN))
    assert (held.status, held.reason) == ("deferred", "events_pending")
    assert datetime.fromisoformat(held.retry_at) >= before + HOLD
    assert provider.sent == []
    # Another customer with the same cart is not held: its customer has nothing pending.
    other = await env.run(activities.send, send("h2", "cart/customer-h2/cart-shared"))
    assert other.status == "sent"
    # Delivered: the send goes (the run would have stopped, had the event been a reaction).
    await events.delivered("h1-reply", {"runs": []})
    assert (await env.run(activities.send, send("h1", RUN))).status == "sent"
    assert [o.customer_id for o in provider.sent] == ["h2", "h1"]


async def test_the_runs_own_trigger_and_a_stuck_event_hold_nothing(
    db: async_sessionmaker[AsyncSession],
) -> None:
    events = EventLog(db)
    provider = RecordingChannel("email")
    activities = Activities(
        directory=InMemoryDirectory([Contact.model_validate({**FULL_CONTACT, "id": "h1"})]),
        send_log=InMemorySendLog(),
        channels={"email": provider},
        pending=events,
    )
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_id=RUN)
    # The event that started this run (signal-with-start), its mark not yet committed.
    trigger = {**reply("h1"), "name": "cart_updated", "event_id": "h1-cart"}
    await events.claim("h1-cart", "cart_updated", "h1", [(RUN, "cart", "h1")], trigger)
    # An event Temporal keeps refusing: the relay tried it TRIED times.
    await events.claim("h1-reply", "message_replied", "h1", [], reply("h1"))
    async with db() as s, s.begin():
        await s.execute(
            update(EventRow).where(EventRow.event_id == "h1-reply").values(attempts=TRIED)
        )
    assert await events.pending_for("h1", RUN, TRIED) == []
    assert await events.pending_for("h1", "cart/customer-h1/cart-other", TRIED) == ["h1-cart"]
    result = await env.run(activities.send, send("h1", RUN))
    assert result.status == "sent"

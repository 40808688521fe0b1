"""Nothing is sent for nothing: a digest window can be empty only when it collects another
event than the trigger (or is a second collect step), and then the run ends its steps
instead of sending a message that lists nothing; a digest whose items were all erased before
its send is skipped. The trigger's own window is never empty: de-duplication keeps one item
per key and id, whatever arrives."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accepting import AcceptingChannel
from harness import FULL_CONTACT, Run, write_scenario
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from orchestrator.engine.activities import DIGEST_GONE, Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.definitions import InMemoryEventData
from orchestrator.engine.messages import EventSignal, SendRequest
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.engine.workflow import digest
from orchestrator.language.model import Collect

WEEKLY = """
scenario: weekly_drops
trigger: watch_started
steps:
  - collect: {event: price_dropped, for: 1h, key: product.id}
  - send: {email: weekly/digest}
  - collect: {event: price_dropped, for: 1h, key: product.id}
  - send: {email: weekly/digest}
sample:
  watch_started: {product: {id: p-1}}
  price_dropped: {product: {id: p-1, name: Shirt}, price: 5}
"""
TEMPLATES = {
    "weekly/digest/email": "{% block subject %}{{ collected|length }} drops{% endblock %}"
    "{% block html %}{% for i in collected %}<p>{{ i.product.name }}</p>{% endfor %}"
    "{% endblock %}",
}


def person(cid: str) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, "id": cid, "email": f"{cid}@example.com"})


def drop(product: str, name: str) -> dict[str, Any]:
    return {"product": {"id": product, "name": name}, "price": 5}


async def test_a_window_that_saw_nothing_sends_nothing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Three customers, the same product ids: one sees no drop (no message at all), one sees
    drops in the first window only (one digest, then the empty second window ends the run),
    one in both windows (two digests, each with its own window's items)."""
    scenario = write_scenario(tmp_path, WEEKLY, TEMPLATES)
    async with (
        Run(time_env, scenario, person("quiet")) as quiet,
        Run(time_env, scenario, person("once")) as once,
        Run(time_env, scenario, person("twice")) as twice,
    ):
        for run in (quiet, once, twice):
            await run.start({"product": {"id": "p-1"}})
        await once.signal("price_dropped", drop("p-1", "once-shirt"))
        await twice.signal("price_dropped", drop("p-1", "twice-shirt"))
        await once.signal("price_dropped", drop("p-2", "once-hat"))
        await twice.at(90 * 60)  # the first windows closed; the second ones are open
        await twice.signal("price_dropped", drop("p-3", "twice-scarf"))
        states = {r.contact.id: await r.result() for r in (quiet, once, twice)}
        sent = {r.contact.id: r.providers["email"].sent for r in (quiet, once, twice)}
    assert sent["quiet"] == []
    assert states["quiet"].outcome == "stopped: nothing collected"
    assert [o.message.subject for o in sent["once"]] == ["2 drops"]
    assert "once-hat" in sent["once"][0].message.html
    assert states["once"].outcome == "stopped: nothing collected"
    assert [o.message.subject for o in sent["twice"]] == ["1 drops", "1 drops"]
    assert "twice-shirt" in sent["twice"][0].message.html
    assert "twice-scarf" in sent["twice"][1].message.html
    assert states["twice"].outcome == "completed"
    for cid, outs in sent.items():  # nobody else's items
        for out in outs:
            assert all(o not in out.message.html for o in sent if o != cid)


def test_the_triggers_window_is_never_emptied_by_deduplication() -> None:
    """Any events, repeated ids and keys included, give a digest of at least one item."""
    rng = random.Random(27)
    collect = Collect(event="price_dropped", window_s=60, max=20, key="product.id")
    for _ in range(500):
        events = [
            EventSignal(
                "price_dropped",
                rng.choice(["a", "b", "c", str(n)]),
                data={"product": {"id": rng.choice(["p", "q"])}} if rng.random() < 0.8 else {},
            )
            for n in range(rng.randint(1, 30))
        ]
        listed = digest.digest(events, collect)
        assert listed, events
        ids = [e.event_id for e in listed]
        assert len(ids) == len(set(ids))


async def test_a_digest_whose_items_were_all_erased_is_skipped() -> None:
    """The trigger was not stored (its data travels in the send) but the collected events
    were, and were erased before the send: no empty message."""
    events = InMemoryEventData()
    send_log = InMemorySendLog()
    outbox = AcceptingChannel("email")
    acts = Activities(
        directory=InMemoryDirectory([person("gone")]),
        send_log=send_log,
        channels={"email": outbox},
        events=events,
    )
    kept = str(uuid.uuid4())
    events.data[kept] = drop("p-9", "kept-shirt")

    def request(refs: list[str]) -> SendRequest:
        return SendRequest(
            key=f"weekly_drops/customer-gone/{uuid.uuid4().hex[:16]}/g0/steps.1/email",
            scenario="weekly_drops",
            step="steps.1",
            channel="email",
            template="weekly/digest",
            customer_id="gone",
            now=datetime.now(UTC).isoformat(),
            sources={"": TEMPLATES["weekly/digest/email"]},
            run={"id": "weekly_drops/customer-gone"},
            trigger={"product": {"id": "p-1"}},
            collected_refs=refs,
        )

    env = ActivityEnvironment()
    erased = await env.run(acts.send, request([str(uuid.uuid4()), str(uuid.uuid4())]))
    assert (erased.status, erased.reason) == ("skipped", DIGEST_GONE)
    assert outbox.sent == []
    partly = await env.run(acts.send, request([str(uuid.uuid4()), kept]))
    assert partly.status == "sent"
    (out,) = outbox.sent
    assert out.message.subject == "1 drops" and "kept-shirt" in out.message.html

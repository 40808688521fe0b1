"""The ``collect`` step (a digest) on the time-skipping server, through the real router as the
API routes events: many customers watching overlapping products, bursts of hundreds of price
drops interleaved across them, replayed event ids, a worker replaced mid-window, hostile
product names, a goal during the window and a window closed early by ``max``."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from accepting import AcceptingChannel
from harness import FULL_CONTACT
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from channels.base import Outbound
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.definitions import InMemoryEventData
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>alert("x")</script> & Co\r\nBcc: evil@example.com — Linen 🧵 naïve'


def digest_scenario() -> Scenario:
    return load_or_raise([ROOT / "scenarios"], ROOT / "templates")["price_drop_digest"]


def person(cid: str, **changes: Any) -> Contact:
    return Contact.model_validate(
        {**FULL_CONTACT, "id": cid, "email": f"{cid}@example.com", **changes}
    )


def drop(product: str, price: float, name: str = "") -> dict[str, Any]:
    url = f"https://shop.example/p/{product}"
    return {
        "product": {"id": product, "name": name or f"Product {product}", "url": url},
        "price": price,
        "was": 99.0,
        "currency": "EUR",
    }


class MemoryIndex:
    def __init__(self) -> None:
        self.runs: dict[str, tuple[str, str]] = {}

    async def add(self, workflow_id: str, scenario: str, customer_id: str) -> None:
        self.runs[workflow_id] = (scenario, customer_id)

    async def for_customer(self, customer_id: str, scenarios: list[str]) -> list[str]:
        return [w for w, (s, c) in self.runs.items() if c == customer_id and s in scenarios]

    async def remove(self, workflow_id: str) -> None:
        self.runs.pop(workflow_id, None)


@dataclass
class Shop:
    env: WorkflowEnvironment
    contacts: list[Contact]
    queue: str = field(default_factory=lambda: f"digest-{uuid.uuid4()}")
    events: InMemoryEventData = field(default_factory=InMemoryEventData)
    providers: dict[str, AcceptingChannel] = field(
        default_factory=lambda: {c: AcceptingChannel(c) for c in CHANNELS}
    )
    send_log: InMemorySendLog = field(default_factory=InMemorySendLog)
    index: MemoryIndex = field(default_factory=MemoryIndex)
    wids: set[str] = field(default_factory=set)

    def router(self) -> Router:
        scenario = digest_scenario()
        return Router(
            self.env.client,
            {scenario.id: scenario},
            task_queue=self.queue,
            options=RunOptions(index=False),
            index=self.index,
        )

    def worker(self, cache: bool = True) -> Worker:
        """``cache=False``: every task replays the history (a replaced worker is a cold start)
        and no task waits on the sticky queue of a worker that is gone."""
        activities = Activities(
            directory=InMemoryDirectory(self.contacts),
            send_log=self.send_log,
            channels=dict(self.providers),
            events=self.events,
        )
        return build_worker(
            self.env.client,
            task_queue=self.queue,
            activities=activities,
            max_cached_workflows=1000 if cache else 0,
            fail_fast=True,
        )

    async def event(
        self, router: Router, name: str, customer: str, data: dict[str, Any], eid: str = ""
    ) -> str:
        """As the API does: store the event, then route it."""
        eid = eid or str(uuid.uuid4())
        self.events.keep(eid, data)  # a replayed id keeps its first data
        routed = await router.route(EventSignal(name, eid, customer, data=data, stored=True))
        self.wids.update(routed.started_or_signalled)
        return eid

    def sent(self, customer: str) -> list[Outbound]:
        return [o for c in CHANNELS for o in self.providers[c].sent if o.customer_id == customer]

    async def result(self, wid: str) -> RunState:
        handle = self.env.client.get_workflow_handle(wid, result_type=RunState)
        state: RunState = await handle.result()
        return state


async def morning(env: WorkflowEnvironment) -> None:
    """The next 10:00 UTC: outside the scenario's quiet hours."""
    now = await env.get_current_time()
    moment = now.replace(hour=10, minute=0, second=0, microsecond=0)
    await env.sleep(((moment if moment > now else moment + timedelta(days=1)) - now).seconds)


@asynccontextmanager
async def shop(env: WorkflowEnvironment, contacts: list[Contact]) -> AsyncIterator[Shop]:
    s = Shop(env, contacts)
    await morning(env)
    try:
        yield s
    finally:
        for wid in s.wids:  # runs left waiting would hold the shared server's clock
            handle = env.client.get_workflow_handle(wid)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")


def listed(out: Outbound) -> list[str]:
    """The product urls an email lists, in order."""
    return re.findall(r"https://shop\.example/p/([\w-]+)", out.message.text)


async def test_bursts_across_customers_make_one_digest_each(time_env: WorkflowEnvironment) -> None:
    """Six customers watch overlapping products; 600 drops come interleaved (with replayed ids
    carrying other prices). Each gets one message listing their own products, newest price
    first, one line per product; no other customer's product appears."""
    rng = random.Random(27)
    customers = [f"c{i}" for i in range(6)]
    watched = {c: rng.sample([f"p{n}" for n in range(12)], 6 + i) for i, c in enumerate(customers)}
    async with shop(time_env, [person(c) for c in customers]) as s:
        router = s.router()
        newest: dict[str, dict[str, float]] = {c: {} for c in customers}
        ids: list[tuple[str, str, dict[str, Any]]] = []
        async with s.worker():
            for n in range(600):
                customer = customers[n % 6]
                product = rng.choice(watched[customer])
                price = round(10 + n / 10, 2)  # later drops carry higher prices: order shows
                data = drop(product, price, name=f"{customer}-{product}")
                eid = await s.event(router, "price_dropped", customer, data)
                newest[customer][product] = price
                ids.append((customer, eid, data))
                if n % 50 == 49:  # redelivered ids with other data: dropped by the run
                    old_customer, old_id, old = ids[rng.randrange(len(ids))]
                    fake = drop(old["product"]["id"], 0.01, name=f"{old_customer}-replayed")
                    await s.event(router, "price_dropped", old_customer, fake, eid=old_id)
            await time_env.sleep(31 * 60)
            results = {c: await s.result(f"price_drop_digest/customer-{c}") for c in customers}
        for customer in customers:
            assert results[customer].outcome == "completed"
            (message,) = s.sent(customer)
            assert message.channel == "email"
            products = listed(message)
            order = sorted(newest[customer], key=lambda p: -newest[customer][p])
            assert products == order, customer
            assert "replayed" not in message.message.text
            for other in customers:
                if other != customer:
                    assert f"{other}-" not in message.message.text + message.message.html
            for product, price in newest[customer].items():
                assert f"{customer}-{product}: €{price:,.2f}" in message.message.text


async def test_a_worker_replaced_mid_window_loses_nothing(time_env: WorkflowEnvironment) -> None:
    """Drops before, between and after two workers: one digest with every product."""
    async with shop(time_env, [person("w1")]) as s:
        router = s.router()
        async with s.worker(cache=False):
            for n in range(5):
                await s.event(router, "price_dropped", "w1", drop(f"a{n}", 10 + n))
            await time_env.sleep(5 * 60)
        # No worker: the drops wait in the run's history.
        for n in range(5):
            await s.event(router, "price_dropped", "w1", drop(f"b{n}", 20 + n))
        async with s.worker(cache=False):
            await time_env.sleep(5 * 60)
            for n in range(5):
                await s.event(router, "price_dropped", "w1", drop(f"c{n}", 30 + n))
            await time_env.sleep(25 * 60)
            state = await s.result("price_drop_digest/customer-w1")
        assert state.outcome == "completed"
        (message,) = s.sent("w1")
        expected = [f"{x}{n}" for x in "cba" for n in (4, 3, 2, 1, 0)]
        assert listed(message) == expected


async def test_hostile_names_escaped_in_html_email_only(time_env: WorkflowEnvironment) -> None:
    """Markup, CR/LF and unicode in a product name: escaped in the HTML part, as written in
    the text part and in the SMS (a customer without email)."""
    contacts = [person("h1"), person("h2", email=None)]
    async with shop(time_env, contacts) as s:
        router = s.router()
        async with s.worker():
            for customer in ("h1", "h2"):
                await s.event(router, "price_dropped", customer, drop("x1", 5, HOSTILE))
                await s.event(router, "price_dropped", customer, drop("x2", 6, "Plain"))
            await time_env.sleep(31 * 60)
            for customer in ("h1", "h2"):
                await s.result(f"price_drop_digest/customer-{customer}")
        (email,) = s.sent("h1")
        assert "<script>" not in email.message.html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in email.message.html
        assert "🧵 naïve" in email.message.html
        assert HOSTILE in email.message.text
        assert "\n" not in email.message.subject and "\r" not in email.message.subject
        (sms,) = s.sent("h2")
        assert sms.channel == "sms"
        assert sms.message.text.startswith("2 items you watch are cheaper, e.g. Plain")


async def test_max_closes_the_window_and_the_rest_make_the_next_digest(
    time_env: WorkflowEnvironment,
) -> None:
    """25 products at once with max 20: a digest of the first 20 goes at once (no 30 minutes'
    wait); the other 5 are not dropped but make the next digest, 30 minutes later."""
    async with shop(time_env, [person("m1")]) as s:
        router = s.router()
        async with s.worker():
            for n in range(25):
                await s.event(router, "price_dropped", "m1", drop(f"q{n:02}", 10 + n))
            await time_env.sleep(60)
            first = s.sent("m1")
            assert len(first) == 1
            assert listed(first[0]) == [f"q{n:02}" for n in range(19, -1, -1)]
            await time_env.sleep(31 * 60)
            state = await s.result("price_drop_digest/customer-m1")
        assert state.outcome == "completed"
        _, second = s.sent("m1")
        assert listed(second) == [f"q{n:02}" for n in range(24, 19, -1)]


async def test_a_goal_during_the_window_ends_the_run_without_a_digest(
    time_env: WorkflowEnvironment,
) -> None:
    async with shop(time_env, [person("g1")]) as s:
        router = s.router()
        async with s.worker():
            for n in range(3):
                await s.event(router, "price_dropped", "g1", drop(f"g{n}", 10))
            await time_env.sleep(10 * 60)
            await s.event(router, "order_placed", "g1", {"order": {"id": "o-1", "total": 1}})
            state = await s.result("price_drop_digest/customer-g1")
        assert state.outcome == "converted"
        assert s.sent("g1") == []


async def test_simulate_scripts_several_drops_into_one_digest(
    time_env: WorkflowEnvironment,
) -> None:
    """``omni simulate`` with drops at +0, +5m and +10m (one product twice): one email at
    +30m listing two products, the newest price first."""
    from orchestrator.dev.simulator import SimEvent, simulate

    start = (await time_env.get_current_time()) + timedelta(days=1)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    events = [
        SimEvent("price_dropped", 0, drop("p-1", 40, "Shirt")),
        SimEvent("price_dropped", 300, drop("p-2", 9, "Hat")),
        SimEvent("price_dropped", 600, drop("p-1", 35, "Shirt")),
    ]
    result = await simulate(digest_scenario(), events, env=time_env, start_at=start)
    sends = [e for e in result.timeline if e["kind"] == "send"]
    assert [e["offset_s"] for e in sends] == [1800], result.to_text()
    preview = sends[0]["preview"]
    assert preview.index("Shirt: €35.00") < preview.index("Hat: €9.00"), preview
    assert "€40.00" not in preview

"""A worker killed (SIGKILL) in the middle of digest windows: no drop is lost and each
customer gets exactly one digest.

Four customers watch overlapping products (three by email, one by SMS). Drops come through
the HTTP API in three bursts: before any worker runs (they wait in the runs' histories), while
the first worker gathers them (it is killed right after a burst, mid-task), and while no
worker runs at all. The windows end while no worker runs (their timers fire on the server);
a second worker then sends each digest: every drop of every burst in it, newest first, one
line per product, replayed event ids dropped, nobody else's product. On SQLite and PostgreSQL
(when OMNI_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from faults.processes import kill_all, omni_process, smtp_env, worker_env
from harness import write_scenario
from peers.smtp import SmtpPeer
from peers.twilio_api import TwilioPeer
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from orchestrator.api.app import create_app
from orchestrator.api.keys import ALL_SCOPES
from orchestrator.api.serve import serving
from orchestrator.api.services import build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.engine.contacts import ContactFields
from orchestrator.language.model import Scenario
from orchestrator.store.db import make_engine, sessions

SCENARIO = """
scenario: drops
trigger: {event: price_dropped, again: signal}
steps:
  - collect: {event: price_dropped, for: 40s, max: 20, key: product.id}
  - send: {first_of: [email, sms], template: drops/digest}
sample:
  price_dropped: {product: {id: p-1, name: Shirt}, price: 5}
"""
TEMPLATES = {
    "drops/digest/email": "{% block subject %}{{ collected|length }} cheaper{% endblock %}"
    "{% block html %}{% for i in collected %}<p>{{ i.product.name }}: {{ i.price }}</p>"
    "{% endfor %}{% endblock %}",
    "drops/digest/sms": "{% block text %}{% for i in collected %}{{ i.product.name }} "
    "{{ i.price }};{% endfor %}{% endblock %}",
}
#: customer -> contact fields (the SMS customer has no email: first_of picks SMS).
CUSTOMERS = {
    "k-1": {"email": "k-1@example.com", "consents": {"email": True}},
    "k-2": {"email": "k-2@example.com", "consents": {"email": True}},
    "k-3": {"email": "k-3@example.com", "consents": {"email": True}},
    "k-4": {"phone": "+15005550144", "consents": {"sms": True}},
}
PRODUCTS = [f"p{n}" for n in range(9)]


class Drops:
    """The drops of each burst, and the newest price per customer and product."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.watched = {c: self.rng.sample(PRODUCTS, 5) for c in CUSTOMERS}
        self.sent: dict[str, list[dict[str, Any]]] = {c: [] for c in CUSTOMERS}
        self.count = 0
        self.replays = 0

    def burst(self, per_customer: int) -> list[dict[str, Any]]:
        """Drops interleaved across customers, each customer's in order; now and then an
        earlier drop's id again with another price (a redelivery the API drops)."""
        out = []
        for _ in range(per_customer):
            for cid in self.rng.sample(list(CUSTOMERS), len(CUSTOMERS)):
                self.count += 1
                product = self.rng.choice(self.watched[cid])
                data = {"product": {"id": product, "name": f"{cid}/{product}"}, "price": self.count}
                event = {
                    "name": "price_dropped",
                    "customer_id": cid,
                    "event_id": f"{cid}-{uuid.uuid4().hex[:10]}",
                    "data": data,
                }
                self.sent[cid].append(event)
                out.append(event)
                if self.count % 17 == 0:
                    again = self.rng.choice(self.sent[cid])
                    out.append({**again, "data": {**again["data"], "price": -1}})
                    self.replays += 1
        return out

    def expected(self, cid: str) -> list[str]:
        """``product: price`` lines, newest first, one per product."""
        seen: dict[str, int] = {}
        for event in self.sent[cid]:
            seen[event["data"]["product"]["id"]] = event["data"]["price"]
        order = sorted(seen, key=lambda p: -seen[p])
        return [f"{cid}/{p}: {seen[p]}" for p in order]


@asynccontextmanager
async def api(
    client: Client, scenario: Scenario, store_url: str, queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(store_url)
    svc = build_services(
        client,
        sessions(engine),
        {scenario.id: scenario},
        task_queue=queue,
        settings=ApiSettings(relay_interval=0.5),
    )
    key = await svc.keys.create("fault", scopes=ALL_SCOPES)
    for cid, fields in CUSTOMERS.items():
        await svc.contacts.upsert(cid, ContactFields.model_validate(fields), source="test")
    try:
        async with (
            serving(create_app(svc)) as base,
            httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as http,
        ):
            yield http
    finally:
        await engine.dispose()


async def post(http: httpx.AsyncClient, events: list[dict[str, Any]]) -> list[str]:
    done = await http.post("/v1/events", json={"events": events})
    assert done.status_code == 202, done.text
    return [r["status"] for r in done.json()["results"]]


async def event_types(handle: WorkflowHandle[Any, Any]) -> list[int]:
    return [e.event_type for e in (await handle.fetch_history()).events]


async def until(check: Any, what: str, tries: int = 600) -> None:
    """Poll ``check()`` (a definite state: history events, a process's exit) until true."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_worker_killed_mid_window_loses_no_drop_and_sends_one_digest(
    temporal: tuple[str, int], tmp_path: Path, store_url: str
) -> None:
    address, _ = temporal
    scenario = write_scenario(tmp_path, SCENARIO, TEMPLATES)
    queue = f"digest-killed-{uuid.uuid4()}"
    client = await Client.connect(address)
    twilio = TwilioPeer()
    drops = Drops(27)
    workers = []
    statuses: list[str] = []
    try:
        with SmtpPeer() as smtp:
            async with (
                serving(twilio.app()) as twilio_base,
                api(client, scenario, store_url, queue) as http,
            ):
                env = worker_env(
                    address,
                    queue,
                    store_url,
                    tmp_path,
                    **smtp_env(smtp.port),
                    OMNI_TWILIO_ACCOUNT_SID=twilio.account_sid,
                    OMNI_TWILIO_AUTH_TOKEN=twilio.auth_token,
                    OMNI_TWILIO_FROM="+15005550006",
                    OMNI_TWILIO_API_URL=twilio_base,
                )
                handles = [client.get_workflow_handle(f"drops/customer-{c}") for c in CUSTOMERS]
                # 1. Before any worker: the drops wait in the runs' histories.
                statuses += await post(http, drops.burst(10))
                workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))

                async def windows_open() -> bool:
                    types = [await event_types(h) for h in handles]
                    return all(EventType.EVENT_TYPE_TIMER_STARTED in t for t in types)

                await until(windows_open, "the first worker opened every window")
                # 2. A burst while the worker gathers; it dies right after, mid-task.
                statuses += await post(http, drops.burst(10))
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(10)
                assert workers[0].returncode == -signal.SIGKILL
                # 3. No worker at all.
                statuses += await post(http, drops.burst(10))

                async def windows_ended() -> bool:
                    for h in handles:
                        events = (await h.fetch_history()).events
                        started = [
                            e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                        ]
                        fired = {
                            e.timer_fired_event_attributes.timer_id
                            for e in events
                            if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
                        }
                        if started[-1].timer_started_event_attributes.timer_id not in fired:
                            return False
                    return True

                await until(windows_ended, "every window ended with no worker running")
                assert smtp.received == [] and twilio.messages == []
                workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))
                states = [await asyncio.wait_for(h.result(), 120) for h in handles]
    finally:
        kill_all(workers)
    assert statuses.count("duplicate") == drops.replays
    assert all(s["outcome"] == "completed" for s in states), states
    mail = {r.recipients[0].split("@")[0]: r for r in smtp.received}
    assert len(mail) == len(smtp.received) == 3  # one digest each
    for cid in ("k-1", "k-2", "k-3"):
        html = mail[cid].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert re.findall(r"<p>(k-\d/p\d: -?\d+)</p>", html) == drops.expected(cid), cid
        assert mail[cid].message["Subject"] == f"{len(drops.expected(cid))} cheaper"
    (sms,) = twilio.wire
    body = parse_qs(sms.decode("ascii"))["Body"][0].split("\n")[0]  # not the footer
    assert [x.strip() for x in body.split(";") if x.strip()] == [
        e.replace(":", "") for e in drops.expected("k-4")
    ]
    assert "-1" not in body and not any(f"k-{n}/" in body for n in (1, 2, 3))

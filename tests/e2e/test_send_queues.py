"""Sends on task queues of their own (OMNI_SEND_QUEUES): the API, a workflow worker and an
SMS-only worker run as separate processes against one dev server, configured only by their
environment. Every SMS is scheduled on ``<queue>-sms`` and sent by the SMS worker (the
workflow worker has no Twilio account at all); email stays on the main queue. Three customers
share a cart id, one has two carts, names carry markup and line breaks: each message reaches
its own customer, once, with that customer's own data."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from faults.processes import ROOT, kill_all, omni_process, smtp_env, until_up, worker_env
from harness import write_scenario
from peers.smtp import SmtpPeer
from peers.twilio_api import TwilioPeer
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import free_port, serving
from orchestrator.engine.ids import customer_ref, workflow_id
from orchestrator.engine.messages import RunState
from orchestrator.store.db import make_engine, sessions

SCENARIO = """
scenario: queued_cart
trigger: {event: cart_updated, per: cart.id}
steps:
  - escalate:
      - email: queued/reminder
        wait: 1s
      - sms: queued/reminder
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "queued/reminder/email": "{% block subject %}Cart {{ cart.id }}{% endblock %}"
    "{% block html %}<p>{{ contact.first_name }}: cart {{ cart.id }}</p>{% endblock %}",
    "queued/reminder/sms": "{% block text %}{{ contact.first_name }}: cart {{ cart.id }}"
    "{% endblock %}",
}
CUSTOMERS = {  # id -> (first name, phone, carts)
    "q/a": ("<b>Ann</b>\r\nBcc: x@evil.example", "+15005550101", ["shared", "second"]),
    "q_a": ("Bo\u0301b 🎉", "+15005550102", ["shared"]),
    "q\u00e9": ("'; DROP TABLE contacts;--", "+15005550103", ["third"]),
}


@pytest.mark.timeout(240)
async def test_sms_on_its_own_queue_sent_by_the_sms_worker(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_scenario(tmp_path, SCENARIO, TEMPLATES)
    store = await migrated_sqlite(tmp_path)
    engine = make_engine(store)
    key = await ApiKeys(sessions(engine)).create("shop", scopes=["ingest", "read", "admin"])
    await engine.dispose()
    address = dev_env.client.service_client.config.target_host
    queue = f"queues-{uuid.uuid4().hex[:8]}"
    twilio = TwilioPeer()
    port = free_port()
    processes = []
    try:
        with SmtpPeer() as smtp:
            async with serving(twilio.app()) as twilio_base:
                common = worker_env(
                    address,
                    queue,
                    store,
                    tmp_path,
                    OMNI_SEND_QUEUES="sms:20",
                    **smtp_env(smtp.port),
                )
                twilio_env = {
                    "OMNI_TWILIO_ACCOUNT_SID": twilio.account_sid,
                    "OMNI_TWILIO_AUTH_TOKEN": twilio.auth_token,
                    "OMNI_TWILIO_FROM": "+15005550006",
                    "OMNI_TWILIO_API_URL": twilio_base,
                }
                log = tmp_path / "processes.log"
                before = await doctor(common)
                api = omni_process("run_api", {**common, "OMNI_API_PORT": str(port)}, log)
                processes.append(api)
                processes.append(
                    omni_process("run_worker", {**common, "OMNI_WORKER_SERVES": "workflows"}, log)
                )
                processes.append(
                    omni_process(
                        "run_worker", {**common, **twilio_env, "OMNI_WORKER_SERVES": "sms"}, log
                    )
                )
                base = f"http://127.0.0.1:{port}"
                await until_up(base, api)
                runs = await post_events(base, key)
                states = {
                    wid: await asyncio.wait_for(
                        dev_env.client.get_workflow_handle(wid, result_type=RunState).result(), 90
                    )
                    for wid in runs
                }
                # Every run has ended, and a run ends after its sends (no worker was killed,
                # so no abandoned attempt can send late): the peers now hold everything.
                emails, texts = list(smtp.received), list(twilio.messages)
                during = await doctor(common)
    finally:
        kill_all(processes)
    assert twilio.violations == []
    # omni doctor tells whether anything polls a channel's queue (sends there would wait).
    assert f"ok    send queue {queue}-sms: 20/s fleet-wide; no worker polls it yet" in before
    assert "OMNI_WORKER_SERVES=sms" in before
    assert f"ok    send queue {queue}-sms: 20/s fleet-wide; polled by 1 worker(s)" in during
    for wid in runs:
        history = await dev_env.client.get_workflow_handle(wid).fetch_history()
        queues = {
            e.activity_task_scheduled_event_attributes.activity_id: (
                e.activity_task_scheduled_event_attributes.task_queue.name
            )
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }
        assert sorted(queues.values()) == sorted([queue, f"{queue}-sms"]), (wid, queues)
        assert [m.channel for m in states[wid].messages] == ["email", "sms"]
        assert all(m.status == "sent" for m in states[wid].messages), states[wid].messages
    # Once per run, to its own customer, with its own name and cart.
    by_phone = {phone: c for c, (_, phone, _) in CUSTOMERS.items()}
    got_sms = Counter((by_phone[m["To"]], m["Body"]) for m in texts)
    want = Counter((c, f"{CUSTOMERS[c][0]}: cart {cart}") for c, cart in runs.values())
    assert got_sms == want, got_sms
    got_mail = Counter((r.recipients[0], lines(r.body())) for r in emails)
    assert got_mail == Counter(
        (email_of(c), lines(f"<p>{escaped(CUSTOMERS[c][0])}: cart {cart}</p>"))
        for c, cart in runs.values()
    ), got_mail
    for r in emails:  # the name's CR/LF never became a header
        assert r.message["Bcc"] is None


async def doctor(env: dict[str, str]) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "orchestrator.cli", "doctor"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def email_of(customer: str) -> str:
    return f"c{list(CUSTOMERS).index(customer)}@example.com"


def lines(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


async def post_events(base: str, key: str) -> dict[str, tuple[str, str]]:
    """Every customer's carts, interleaved; the workflow id of each run -> (customer, cart)."""
    runs: dict[str, tuple[str, str]] = {}
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for round_ in range(2):
            for c, (name, phone, carts) in CUSTOMERS.items():
                if round_ >= len(carts):
                    continue
                cart = carts[round_]
                body: dict[str, Any] = {
                    "name": "cart_updated",
                    "customer_id": c,
                    "event_id": f"{customer_ref(c)}-{cart}",
                    "data": {"cart": {"id": cart}},
                    "contact": {
                        "first_name": name,
                        "email": email_of(c),
                        "phone": phone,
                        "consents": {"email": True, "sms": True},
                    },
                }
                answer = await http.post("/v1/events", json=body, headers=auth)
                assert answer.status_code == 202, answer.text
                assert answer.json()["results"][0]["status"] == "accepted", answer.text
                wid = workflow_id("queued_cart", f"customer-{customer_ref(c)}/cart-{cart}")
                runs[wid] = (c, cart)
    assert len(runs) == 4
    return runs

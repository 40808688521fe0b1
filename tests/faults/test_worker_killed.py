"""The worst moment for a send: the SMTP server has the message and the worker is killed
(SIGKILL) before it hears "250". A second worker takes the send over within the heartbeat
timeout; marketing mail is not sent again (at most once), transactional mail is (at least once,
with the same Message-ID). Other customers' messages are each delivered once."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest
from faults.processes import omni_process
from harness import write_scenario
from peers.smtp import Behaviour, Received, SmtpPeer
from temporalio.client import Client
from tests_store_url import migrated_sqlite

from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

SCENARIO = """
scenario: notice
category: CATEGORY
trigger: {event: cart_updated, per: cart.id}
steps:
  - send: {email: notice/hello}
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "notice/hello/email": "{% block subject %}Hello {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>Cart {{ cart.id }}</p>{% endblock %}"
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("category", "copies"), [("marketing", 1), ("transactional", 2)])
async def test_worker_killed_after_the_smtp_server_accepted(
    temporal: tuple[str, int], tmp_path: Path, category: str, copies: int
) -> None:
    address, _ = temporal
    scenario = write_scenario(tmp_path, SCENARIO.replace("CATEGORY", category), TEMPLATES)
    url = await migrated_sqlite(tmp_path)
    engine = make_engine(url)
    contacts = SqlContacts(sessions(engine))
    customers = [f"w-{category[:2]}-{i}" for i in range(3)]
    for c in customers:
        await contacts.upsert(
            {
                "id": c,
                "first_name": f"<i>{c}</i>",
                "email": f"{c}@example.com",
                "consents": {"email": True},
            },
            source="test",
        )
    queue = f"killed-{uuid.uuid4()}"
    workers: list = []

    def kill_the_worker_once(got: Received) -> None:
        if len(peer.received) == 1:  # the first message is in; its sender dies before "250"
            os.kill(workers[0].pid, signal.SIGKILL)

    peer = SmtpPeer(behaviour=Behaviour(on_data=kill_the_worker_once))
    env = {
        "OMNI_TEMPORAL_ADDRESS": address,
        "OMNI_TASK_QUEUE": queue,
        "DATABASE_URL": url,
        "OMNI_SCENARIOS_DIR": str(tmp_path / "scenarios"),
        "OMNI_TEMPLATES_DIR": str(tmp_path / "templates"),
        "OMNI_DATA_DIR": str(tmp_path / "data"),
        "OMNI_SMTP_HOST": "127.0.0.1",
        "OMNI_SMTP_PORT": str(peer.port),
        "OMNI_SMTP_SECURITY": "none",
    }
    client = await Client.connect(address)
    router = Router(
        client,
        {scenario.id: scenario},
        task_queue=queue,
        options=RunOptions(),
        index=SqlRunIndex(sessions(engine)),
    )
    try:
        with peer:
            workers.append(omni_process("run", env))
            wids = []
            for c in customers:
                ev = EventSignal("cart_updated", f"{c}-e", c, data={"cart": {"id": "c-1"}})
                wids += (await router.route(ev)).started_or_signalled
            for _ in range(100):
                if workers[0].poll() is not None:
                    break
                await asyncio.sleep(0.1)
            assert workers[0].poll() == -signal.SIGKILL, "the first worker was not killed"
            workers.append(omni_process("run", env))  # takes over after the heartbeat timeout
            states = [
                await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=RunState).result(), 120
                )
                for w in wids
            ]
            await asyncio.sleep(1.0)  # a late duplicate would arrive now
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                w.wait(10)
        await engine.dispose()
    per_customer = Counter(r.recipients[0].split("@")[0] for r in peer.received)
    killed = peer.received[0].recipients[0].split("@")[0]
    assert per_customer[killed] == copies
    assert all(per_customer[c] == 1 for c in customers if c != killed)
    ids = {r.message["Message-ID"] for r in peer.received if killed in r.recipients[0]}
    assert len(ids) == 1  # a repeat carries the same Message-ID: receivers can drop it
    (killed_run,) = [s for s in states if s.customer_id == killed]
    (entry,) = killed_run.messages
    if category == "marketing":
        assert (entry.status, entry.reason) == ("failed", "uncertain")
    else:
        assert entry.status == "sent"

"""The store fails in the middle of sends: the SMTP server has the message and, before the
worker can record it, the store is locked (SQLite: another writer holds it; PostgreSQL: the
send log is locked) or, on PostgreSQL, every connection of the worker is cut. Transactional
mail, which a blind retry would send again, still reaches each customer exactly once: the
send heartbeats while it waits for the store, and the log write is retried, not the send."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from faults.processes import kill_all, omni_process, smtp_env, worker_env
from harness import write_scenario
from peers.smtp import Behaviour, SmtpPeer
from temporalio.client import Client

from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

SCENARIO = """
scenario: receipt
category: transactional
trigger: {event: order_placed, per: order.id}
steps:
  - send: {email: receipt/mail}
sample:
  order_placed: {order: {id: o-1}}
"""
TEMPLATES = {
    "receipt/mail/email": "{% block subject %}Order {{ order.id }}{% endblock %}"
    "{% block html %}<p>{{ contact.first_name }}: order {{ order.id }}</p>{% endblock %}"
}
#: Longer than the send's heartbeat timeout (10 s) plus the first retry's pause (5 s): a send
#: that stopped heartbeating while it waited would be taken over by a second attempt, which
#: finds only the intent and sends again. Shorter than SQLite's busy timeout (30 s).
HOLD = 22.0


def hold_sqlite(url: str) -> None:
    """Another writer holds SQLite's write lock for ``HOLD`` seconds (readers go on: WAL)."""
    conn = sqlite3.connect(url.split(":///", 1)[1], timeout=30, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        conn.rollback()
        conn.close()

    threading.Timer(HOLD, release).start()


def pg_dsn(url: str) -> tuple[str, str]:
    base, _, schema = url.partition("?search_path=")
    return base.replace("postgresql+asyncpg://", "postgresql://"), schema


def in_thread(work: Callable[[threading.Event], Any]) -> None:
    """Run ``work`` (a coroutine function) on a loop of its own; return once it says so."""
    ready = threading.Event()
    threading.Thread(target=lambda: asyncio.run(work(ready)), daemon=True).start()
    assert ready.wait(10), "the store fault did not start"


def hold_pg(url: str) -> None:
    dsn, schema = pg_dsn(url)

    async def work(ready: threading.Event) -> None:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        async with conn.transaction():
            await conn.execute("LOCK TABLE send_log IN ACCESS EXCLUSIVE MODE")
            ready.set()
            await asyncio.sleep(HOLD)
        await conn.close()

    in_thread(work)


def cut_pg(url: str, since: float) -> None:
    """Terminate every other connection opened since ``since`` (the worker's pool)."""
    dsn, _ = pg_dsn(url)

    async def work(ready: threading.Event) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <>"
            " pg_backend_pid() AND backend_type = 'client backend' AND datname ="
            " current_database() AND backend_start >= to_timestamp($1)",
            since,
        )
        await conn.close()
        ready.set()

    in_thread(work)


FAULTS = [
    pytest.param("sqlite", "lock", id="sqlite-locked"),
    pytest.param("postgresql", "lock", id="postgresql-locked"),
    pytest.param("postgresql", "cut", id="postgresql-connections-cut"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("store_url", "fault"), FAULTS, indirect=["store_url"])
async def test_the_store_fails_after_the_provider_accepted(
    temporal: tuple[str, int], tmp_path: Path, store_url: str, fault: str
) -> None:
    address, _ = temporal
    scenario = write_scenario(tmp_path, SCENARIO, TEMPLATES)
    engine = make_engine(store_url)
    contacts = SqlContacts(sessions(engine))
    customers = [f"sf-{fault}-{i}" for i in range(4)]
    for c in customers:
        row = ContactFields(first_name=c, email=f"{c}@example.com")
        await contacts.upsert(c, row, source="test")
    started = time.time()
    faults: list[float] = []

    def fail_the_store_once(_got: Any) -> None:
        if faults:
            return
        faults.append(time.monotonic())
        if fault == "cut":
            cut_pg(store_url, started)
        elif store_url.startswith("sqlite"):
            hold_sqlite(store_url)
        else:
            hold_pg(store_url)

    queue = f"store-{uuid.uuid4()}"
    client = await Client.connect(address)
    router = Router(
        client,
        {scenario.id: scenario},
        task_queue=queue,
        options=RunOptions(),
        index=SqlRunIndex(sessions(engine)),
    )
    peer = SmtpPeer(behaviour=Behaviour(on_data=fail_the_store_once))
    workers = []
    try:
        with peer:
            env = worker_env(address, queue, store_url, tmp_path, **smtp_env(peer.port))
            workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))
            wids = []
            for c in customers:  # every customer's order has the same id: runs stay apart
                ev = EventSignal("order_placed", f"{c}-e", c, data={"order": {"id": "o-1"}})
                wids += (await router.route(ev)).started_or_signalled
            assert len(wids) == len(customers)
            states = [
                await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=RunState).result(), 120
                )
                for w in wids
            ]
            kill_all(workers)  # no sender is left: what the peer holds now is final
    finally:
        kill_all(workers)
        await engine.dispose()
    assert faults, "the fault never happened"
    per_customer = Counter(r.recipients[0].split("@")[0] for r in peer.received)
    assert per_customer == Counter(customers), per_customer  # each exactly once
    for r in peer.received:  # and with its own customer's data
        name = r.recipients[0].split("@")[0]
        assert f"{name}: order o-1" in r.body()
    assert all([m.status for m in s.messages] == ["sent"] for s in states), states

"""A worker killed (SIGKILL) while sends are held for their best time: the decision is in
each run's history and the hold is a Temporal timer, so a second worker sends each message
when its moment comes — once (no double send) and not never (no lost send).

Real processes on a dev server, so the hold must be short: the store has no reactions yet, so
the scenario's ``fallback`` time decides — the next whole minute at least 20 s away, in the
customers' zones (all at UTC+0 in winter, where the test runs: UTC, London, Reykjavik, none).
Runs on SQLite and on PostgreSQL (when OMNI_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faults.processes import kill_all, omni_process, smtp_env, worker_env
from harness import write_scenario
from peers.smtp import Behaviour, SmtpPeer
from sqlalchemy import func, select
from temporalio.client import Client

from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex
from orchestrator.store.tables import SendRow, SendTimeRow

SCENARIO = """
scenario: held
trigger: {event: cart_updated, per: cart.id}
steps:
  - send: {email: held/hello}
    at: best_time
    within: 2h
    fallback: "FALLBACK"
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "held/hello/email": "{% block subject %}Hello {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>Cart {{ cart.id }} for {{ contact.first_name }}</p>{% endblock %}",
}
ZONES = {"utc": "UTC", "london": "Europe/London", "reykjavik": "Atlantic/Reykjavik", "none": None}


def fallback_minute(now: datetime) -> datetime:
    """The next whole minute at least 20 s ahead: enough to kill a worker meanwhile."""
    return (now + timedelta(seconds=80)).replace(second=0, microsecond=0)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_worker_killed_during_the_hold_sends_each_message_once(
    temporal: tuple[str, int], tmp_path: Path, store_url: str
) -> None:
    moment = fallback_minute(datetime.now(UTC))
    if any(datetime.now(ZoneInfo(z or "UTC")).utcoffset() != timedelta(0) for z in ZONES.values()):
        pytest.skip("the zones are at UTC+0 only in winter (London, here)")
    address, _ = temporal
    scenario = write_scenario(tmp_path, SCENARIO.replace("FALLBACK", f"{moment:%H:%M}"), TEMPLATES)
    engine = make_engine(store_url)
    db = sessions(engine)
    received: list[tuple[str, datetime]] = []
    contacts = SqlContacts(db)
    for name, zone in ZONES.items():
        row: dict[str, Any] = {
            "id": f"hold-{name}",
            "first_name": f"<b>{name}</b>",
            "email": f"{name}@example.com",
            "consents": {"email": True},
        }
        if zone:
            row["timezone"] = zone
        fields = ContactFields.model_validate({k: v for k, v in row.items() if k != "id"})
        await contacts.upsert(row["id"], fields, source="test")
    queue = f"hold-{uuid.uuid4()}"
    client = await Client.connect(address)
    router = Router(
        client,
        {scenario.id: scenario},
        task_queue=queue,
        options=RunOptions(),
        index=SqlRunIndex(db),
    )
    workers: list[Any] = []
    smtp = SmtpPeer(
        behaviour=Behaviour(
            on_data=lambda got: received.append((got.recipients[0], datetime.now(UTC)))
        )
    )
    try:
        with smtp:
            env = worker_env(address, queue, store_url, tmp_path, **smtp_env(smtp.port))
            workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))
            wids = []
            for name in ZONES:  # one cart id for every customer
                ev = EventSignal(
                    "cart_updated", f"e-{name}", f"hold-{name}", data={"cart": {"id": "c-1"}}
                )
                wids += (await router.route(ev)).started_or_signalled
            # Every run has decided (the held sends are in the store): kill its worker.
            async with db() as s:
                for _ in range(600):
                    held = await s.scalar(select(func.count()).select_from(SendTimeRow))
                    if held == len(ZONES):
                        break
                    await asyncio.sleep(0.1)
            assert held == len(ZONES), "the sends were not held"
            assert datetime.now(UTC) < moment and received == []
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(10)
            workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))
            states = [
                await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=RunState).result(), 200
                )
                for w in wids
            ]
            kill_all(workers)  # no sender is left: what the peer holds now is final
            histories = [await client.get_workflow_handle(w).fetch_history() for w in wids]
    finally:
        kill_all(workers)
    async with db() as s:
        sent = (await s.execute(select(SendRow.customer_id, SendRow.status))).all()
    await engine.dispose()
    per_address = Counter(to for to, _ in received)
    assert per_address == {f"{name}@example.com": 1 for name in ZONES}, received
    assert all(at >= moment for _, at in received), (moment, received)
    assert sorted(sent) == sorted((f"hold-{name}", "sent") for name in ZONES)
    for state, history in zip(states, histories, strict=True):
        assert state.outcome == "completed"
        decided = [e for e in state.timeline if e.kind == "decision"]
        assert [e.reason for e in decided] == [
            "holding for "
            f"{moment:%a %H:%M} local: nothing to learn from yet (no reactions, theirs or the "
            f"shop's): fallback {moment:%H:%M} local"
        ]
        # Decided once: one best_time marker however many workers ran the run.
        markers = [e for e in history.events if e.marker_recorded_event_attributes.marker_name]
        assert len(markers) == 1

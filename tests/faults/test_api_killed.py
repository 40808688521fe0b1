"""Faults with real processes: Temporal stalls (SIGSTOP) while the shop's client times out and
retries, the API process is killed (SIGKILL) with events stored but not delivered, a second
API process takes over. Every accepted event reaches its customer's run; each message once.

``OMNI_FAULT_ROUNDS`` repeats it (long profile).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from accepting import AcceptingChannel
from faults.processes import omni_process, until_up
from harness import quick_cart
from temporalio.client import Client

from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import free_port
from orchestrator.engine.activities import Activities
from orchestrator.engine.definitions import Definitions
from orchestrator.engine.messages import RunState
from orchestrator.engine.runtime import build_worker
from orchestrator.language.model import CHANNELS
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.events import EventLog
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.versions import SqlVersions

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("OMNI_FAULT_ROUNDS", "1"))


def api_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return omni_process("run_api", env)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_kill_the_api_while_temporal_stalls_and_lose_nothing(
    temporal: tuple[str, int], tmp_path: Path, store_url: str, round_: int
) -> None:
    address, temporal_pid = temporal
    quick_cart(tmp_path, first_wait="1s", rung_wait="1h")
    url = store_url
    engine = make_engine(url)
    factory = sessions(engine)
    key = await ApiKeys(factory).create("shop", scopes=["ingest", "read", "admin"])
    queue = f"fault-{uuid.uuid4()}"
    port = free_port()
    env = {
        "OMNI_TEMPORAL_ADDRESS": address,
        "OMNI_TASK_QUEUE": queue,
        "DATABASE_URL": url,
        "OMNI_SCENARIOS_DIR": str(tmp_path / "scenarios"),
        "OMNI_TEMPLATES_DIR": str(tmp_path / "templates"),
        "OMNI_API_PORT": str(port),
        "OMNI_DATA_DIR": str(tmp_path / "data"),
        "OMNI_EVENT_LEASE_SECONDS": "3",
    }
    base = f"http://127.0.0.1:{port}"
    customers = [f"k{round_}-{i}" for i in range(6)]
    events = [
        {
            "name": "cart_updated",
            "customer_id": c,
            "event_id": f"{c}-e1",
            "data": {"cart": {"id": "shared-cart", "total": 9}},
            "contact": {"email": f"{c}@example.com", "consents": {"email": True}},
        }
        for c in customers
    ]
    first = api_process(env)
    outbox = {c: AcceptingChannel(c) for c in CHANNELS}
    client = await Client.connect(address)
    activities = Activities(
        directory=SqlContacts(factory),
        send_log=SqlSendLog(factory),
        channels=dict(outbox),
        events=EventLog(factory),
        definitions=Definitions(SqlVersions(factory)),  # the API process published them
    )
    try:
        await until_up(base, first)
        os.kill(temporal_pid, signal.SIGSTOP)  # Temporal stalls
        try:
            async with httpx.AsyncClient(base_url=base, timeout=1.5) as http:
                auth = {"Authorization": f"Bearer {key}"}
                for event in events:
                    with pytest.raises(httpx.TimeoutException):
                        await http.post("/v1/events", headers=auth, json=event)
                # The shop's retry: stored and on its way, never a false duplicate.
                retry = await http.post("/v1/events", headers=auth, json=events[0], timeout=10)
                assert retry.json()["results"][0]["status"] == "pending", retry.text
            first.send_signal(signal.SIGKILL)  # the API dies with everything in flight
            first.wait(10)
        finally:
            os.kill(temporal_pid, signal.SIGCONT)
        second = api_process(env)  # another API process picks up what the first left
        try:
            await until_up(base, second)
            async with build_worker(client, task_queue=queue, activities=activities):
                # Final once every stored event is delivered (nothing is left to route) and
                # every run it reached has sent its email and waits for its next rung.
                stored = EventLog(factory)
                for _ in range(300):
                    found = [await stored.get(str(e["event_id"])) for e in events]
                    if all(s is not None and s.delivered for s in found):
                        break
                    await asyncio.sleep(0.1)
                runs = sorted({w for s in found if s is not None for w in s.result["runs"]})
                assert len(runs) == len(customers), runs  # one run per customer
                for wid in runs:
                    for _ in range(300):
                        state = await client.get_workflow_handle(wid).query(
                            "state", result_type=RunState
                        )
                        if [m.status for m in state.messages] == ["sent"] and state.next_wakeup:
                            break
                        await asyncio.sleep(0.1)
                    assert [(m.channel, m.status) for m in state.messages] == [("email", "sent")]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
    finally:
        await engine.dispose()
    sent = [(o.customer_id, o.address) for o in outbox["email"].sent]
    assert sorted(sent) == sorted((c, f"{c}@example.com") for c in customers)  # each once

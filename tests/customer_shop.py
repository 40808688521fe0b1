"""A shop of several customers on the time-skipping server: shipped scenarios, a SQL run
index, recording channels."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from accepting import accepting
from harness import FULL_CONTACT
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

ROOT = Path(__file__).resolve().parents[1]
H = 3600


def shipped(name: str) -> Scenario:
    return load_or_raise([ROOT / "scenarios"], ROOT / "templates")[name]


def person(cid: str, name: str, **changes: Any) -> Contact:
    fields = {**FULL_CONTACT, "id": cid, "first_name": name, "email": f"{cid}@example.com"}
    fields["telegram_chat_id"] = f"7{sum(map(ord, cid))}"
    return Contact.model_validate({**fields, **changes})


@dataclass
class Shop:
    env: WorkflowEnvironment
    router: Router
    providers: dict[str, RecordingChannel]
    send_log: InMemorySendLog
    wids: set[str] = field(default_factory=set)

    async def event(
        self, name: str, customer: str, data: dict[str, Any], eid: str = ""
    ) -> list[str]:
        ev = EventSignal(name, eid or str(uuid.uuid4()), customer, data=data)
        routed = await self.router.route(ev)
        runs = routed.started_or_signalled + routed.signalled
        self.wids.update(routed.started_or_signalled)
        return runs

    async def state(self, wid: str) -> RunState:
        handle = self.env.client.get_workflow_handle(wid, result_type=RunState)
        state: RunState = await handle.query("state", result_type=RunState)
        return state

    def received(self, address: str) -> list[str]:
        return [
            f"{o.template} {o.message.subject}{o.message.text}{o.message.html}{o.message.buttons}"
            for c in CHANNELS
            for o in self.providers[c].sent
            if o.address == address
        ]


async def morning(env: WorkflowEnvironment) -> None:
    """Skip to the next 10:00 UTC: outside every shipped scenario's quiet hours."""
    now = await env.get_current_time()
    moment = now.replace(hour=10, minute=0, second=0, microsecond=0)
    await env.sleep(((moment if moment > now else moment + timedelta(days=1)) - now).seconds)


@asynccontextmanager
async def shop(
    env: WorkflowEnvironment,
    tmp_path: Path,
    scenarios: list[Scenario],
    contacts: list[Contact],
    options: RunOptions | None = None,
) -> AsyncIterator[Shop]:
    queue = f"identity-{uuid.uuid4()}"
    providers = accepting()
    send_log = InMemorySendLog()
    activities = Activities(
        directory=InMemoryDirectory(contacts), send_log=send_log, channels=dict(providers)
    )
    engine = make_engine(await migrated_sqlite(tmp_path))
    router = Router(
        env.client,
        {s.id: s for s in scenarios},
        task_queue=queue,
        options=options or RunOptions(index=False),
        index=SqlRunIndex(sessions(engine)),
    )
    s = Shop(env, router, providers, send_log)
    try:
        async with build_worker(
            env.client, task_queue=queue, activities=activities, fail_fast=True
        ):
            try:
                yield s
            finally:
                # Runs left waiting would hold the shared time-skipping server's clock once
                # their worker is gone: end them while it is still here.
                for wid in s.wids:
                    handle = env.client.get_workflow_handle(wid)
                    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("test over")
    finally:
        await engine.dispose()

"""Several customers' runs of one scenario on one worker (time-skipping server), with scripted
reaction histories for learned ladders and an in-memory record of experiment arms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accepting import AcceptingChannel
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.affinity import Tally
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.ids import run_key, workflow_id
from orchestrator.engine.learning import InMemoryArmLog, InMemoryReactionStats, Learning
from orchestrator.engine.messages import EventSignal, RunInput, RunOptions, RunState
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.engine.timing import InMemoryReactionTimes, SendTiming
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.model import CHANNELS, Scenario


@dataclass
class Fleet:
    env: WorkflowEnvironment
    scenario: Scenario
    contacts: list[Contact]
    history: dict[str, dict[str, Tally]] = field(default_factory=dict)
    shop: dict[str, Tally] | None = None
    options: RunOptions = field(default_factory=lambda: RunOptions(index=False))
    send_log: InMemorySendLog = field(default_factory=InMemorySendLog)
    arms: InMemoryArmLog = field(default_factory=InMemoryArmLog)
    providers: dict[str, RecordingChannel] = field(
        default_factory=lambda: {c: AcceptingChannel(c) for c in CHANNELS}
    )
    queue: str = field(default_factory=lambda: f"learn-{uuid.uuid4()}")
    handles: dict[str, WorkflowHandle[Any, RunState]] = field(default_factory=dict)
    started: datetime | None = None
    worker: Worker | None = None
    #: Reaction times for sends held for their best time (None: nothing known).
    times: InMemoryReactionTimes | None = None
    #: The shop's zone for customers without one (OMNI_DEFAULT_TIMEZONE).
    default_timezone: str = "UTC"

    async def __aenter__(self) -> Fleet:
        activities = Activities(
            directory=InMemoryDirectory(self.contacts),
            send_log=self.send_log,
            channels=dict(self.providers),
            default_timezone=self.default_timezone,
        )
        stats = InMemoryReactionStats.scripted(self.history, self.shop)
        learning = Learning.beside(activities, stats=stats, arms=self.arms)
        times = self.times
        timing = SendTiming.beside(activities, times=times, decisions=times) if times else None
        self.worker = build_worker(
            self.env.client,
            task_queue=self.queue,
            activities=activities,
            learning=learning,
            timing=timing,
            fail_fast=True,
        )
        await self.worker.__aenter__()
        self.started = await self.env.get_current_time()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.worker is not None
        await self.worker.__aexit__(None, None, None)

    async def start(self, customer: str, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else self.scenario.samples[self.scenario.trigger.event]
        key = run_key(self.scenario, customer, data)
        self.handles[customer] = await self.env.client.start_workflow(
            ScenarioWorkflow.run,
            RunInput(
                scenario=self.scenario, customer_id=customer, run_key=key, options=self.options
            ),
            id=f"{workflow_id(self.scenario.id, key)}/{uuid.uuid4().hex[:8]}",
            task_queue=self.queue,
            start_signal="event",
            start_signal_args=[self.event(customer, self.scenario.trigger.event, data)],
        )

    @staticmethod
    def event(customer: str, name: str, data: dict[str, Any] | None = None) -> EventSignal:
        return EventSignal(
            name=name, event_id=str(uuid.uuid4()), customer_id=customer, data=data or {}
        )

    async def at(self, offset_s: float) -> None:
        assert self.started is not None
        now = (await self.env.get_current_time() - self.started).total_seconds()
        if offset_s > now:
            await self.env.sleep(offset_s - now)

    async def signal(self, customer: str, name: str, data: dict[str, Any] | None = None) -> None:
        await self.handles[customer].signal("event", self.event(customer, name, data))

    async def results(self) -> dict[str, RunState]:
        return {c: await h.result() for c, h in self.handles.items()}

    def sent_to(self, customer: str) -> list[str]:
        """Channels that took a message for the customer (its providers), in the order sent."""
        delivered = {m.key for box in self.providers.values() for m in box.sent}
        found = [
            (e.at, e.channel)
            for e in self.send_log.entries.values()
            if e.customer_id == customer and e.status == "sent" and e.key in delivered
        ]
        return [channel for _, channel in sorted(found)]

"""Drive the real workflow on the time-skipping server with recording channels."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import textwrap
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from accepting import AcceptingChannel
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.definitions import InMemoryEventData
from orchestrator.engine.ids import run_key, workflow_id
from orchestrator.engine.messages import REVISION, EventSignal, RunInput, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.engine.timing import InMemoryReactionTimes, SendTiming
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario

#: Push subscription keys shaped as a browser makes them (a 65-byte point, a 16-byte secret).
PUSH_KEYS = {
    "p256dh": base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).rstrip(b"=").decode(),
    "auth": base64.urlsafe_b64encode(bytes(range(16))).rstrip(b"=").decode(),
}

FULL_CONTACT: dict[str, Any] = {
    "id": "c1",
    "first_name": "Alex",
    "email": "alex@example.com",
    "phone": "+15005550006",
    "telegram_chat_id": "100200300",
    "push_subscriptions": [{"endpoint": "https://push.test/1", "keys": PUSH_KEYS}],
    "timezone": "UTC",
    "locale": "en",
    "consents": {"email": True, "push": True, "telegram": True, "sms": True},
}


# A short ladder for tests on the dev server, where time is real.
QUICK_CART = """
scenario: quick_cart
trigger: {event: cart_updated, when: cart.total > 0, per: cart.id}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
steps:
  - wait: FIRST_WAIT
  - escalate:
      - email: quick/reminder
        wait: RUNG_WAIT
      - sms: quick/reminder
sample:
  cart_updated: {cart: {id: c-1, total: 5}}
  order_placed: {order: {cart_id: c-1}}
"""
QUICK_TEMPLATES = {
    "quick/reminder/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}",
    "quick/reminder/sms": "{% block text %}t{% endblock %}",
}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Wait until ``check()`` holds, polling; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def quick_cart(
    tmp: Path, *, first_wait: str = "1h", rung_wait: str = "4h", spread: str = ""
) -> Scenario:
    text = QUICK_CART.replace("FIRST_WAIT", first_wait).replace("RUNG_WAIT", rung_wait)
    if spread:
        text = text.replace("per: cart.id}", f"per: cart.id, spread: {spread}}}", 1)
    return write_scenario(tmp, text, QUICK_TEMPLATES)


def write_scenario(tmp: Path, yaml_text: str, templates: dict[str, str]) -> Scenario:
    """Write one scenario and its templates ("name/channel[.locale]" -> source) and load it."""
    (tmp / "scenarios").mkdir(exist_ok=True)
    (tmp / "scenarios" / "s.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    for name, source in templates.items():
        # "name/channel[.locale]" is a Jinja2 file; a name ending in .yaml is written as it is
        # (WhatsApp's approved templates).
        path = tmp / "templates" / (name if name.endswith(".yaml") else f"{name}.j2")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return next(iter(load_or_raise([tmp / "scenarios"], tmp / "templates").values()))


@dataclass
class Run:
    env: WorkflowEnvironment
    scenario: Scenario
    contact: Contact
    #: The current engine revision unless a test picks an older one (``revision=0``).
    options: RunOptions = field(
        default_factory=lambda: RunOptions(index=False, preview=True, revision=REVISION)
    )
    events: InMemoryEventData = field(default_factory=InMemoryEventData)
    send_log: InMemorySendLog = field(default_factory=InMemorySendLog)
    providers: dict[str, RecordingChannel] = field(
        default_factory=lambda: {c: AcceptingChannel(c) for c in CHANNELS}
    )
    queue: str = field(default_factory=lambda: f"test-{uuid.uuid4()}")
    handle: WorkflowHandle[Any, RunState] | None = None
    started: datetime | None = None
    worker: Worker | None = None
    #: The shop's zone for customers without one (OMNI_DEFAULT_TIMEZONE).
    default_timezone: str = "UTC"
    #: Reaction times for sends held for their best time (None: nothing known).
    times: InMemoryReactionTimes | None = None

    def activities(self) -> Activities:
        return Activities(
            directory=InMemoryDirectory([self.contact]),
            send_log=self.send_log,
            channels=dict(self.providers),
            events=self.events,
            default_timezone=self.default_timezone,
        )

    async def __aenter__(self) -> Run:
        activities = self.activities()
        times = self.times
        self.worker = build_worker(
            self.env.client,
            task_queue=self.queue,
            activities=activities,
            timing=SendTiming.beside(activities, times=times) if times else None,
            fail_fast=True,
        )
        await self.worker.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.worker is not None
        await self.worker.__aexit__(None, None, None)

    async def start(
        self,
        data: dict[str, Any] | None = None,
        *,
        at: datetime | None = None,
        event_id: str = "t0",
    ) -> None:
        if at is not None:
            ahead = (at - await self.env.get_current_time()).total_seconds()
            assert ahead > 0, "start time must be in the test server's future"
            await self.env.sleep(ahead)
        self.started = await self.env.get_current_time()
        data = data if data is not None else self.scenario.samples[self.scenario.trigger.event]
        key = run_key(self.scenario, self.contact.id, data)
        trigger = self.event(self.scenario.trigger.event, data, event_id)
        suffix = uuid.uuid4().hex[:8]
        if self.options.revision >= 1:
            # As production starts it: the router's start request (steps-only definition, its
            # templates published by version, the trigger stored), under a unique workflow id.
            router = Router(
                self.env.client,
                {self.scenario.id: self.scenario},
                task_queue=self.queue,
                options=self.options,
                record_runs=False,
            )
            await router.definitions.publish(self.scenario)
            request = router.start_request(self.scenario, key, trigger)
            request = dataclasses.replace(
                request,
                workflow_id=f"{request.workflow_id}/{suffix}",
                run_input=dataclasses.replace(request.run_input, options=self.options),
            )
            self.handle = await request.send(self.env.client)
            return
        self.handle = await self.env.client.start_workflow(
            ScenarioWorkflow.run,
            RunInput(
                scenario=self.scenario,
                customer_id=self.contact.id,
                run_key=key,
                options=self.options,
            ),
            id=f"{workflow_id(self.scenario.id, key)}/{suffix}",
            task_queue=self.queue,
            start_signal="event",
            start_signal_args=[trigger],
        )

    def event(
        self,
        name: str,
        data: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> EventSignal:
        event_id = event_id or str(uuid.uuid4())
        stored = self.options.revision >= 1
        if stored:  # the API stores every event before routing it
            self.events.keep(event_id, data or {})
        return EventSignal(
            name=name,
            event_id=event_id,
            customer_id=self.contact.id,
            data=data or {},
            stored=stored,
        )

    async def at(self, offset_s: float) -> None:
        """Skip time to ``offset_s`` seconds after the start."""
        assert self.started is not None
        now = (await self.env.get_current_time() - self.started).total_seconds()
        if offset_s > now:
            await self.env.sleep(offset_s - now)

    async def signal(
        self, name: str, data: dict[str, Any] | None = None, event_id: str | None = None
    ) -> None:
        assert self.handle is not None
        await self.handle.signal("event", self.event(name, data, event_id))

    async def result(self) -> RunState:
        assert self.handle is not None
        return await self.handle.result()

    def offset(self, at: str) -> int:
        assert self.started is not None
        return round((datetime.fromisoformat(at) - self.started).total_seconds())

    def sends(self, state: RunState) -> list[tuple[int, str, str]]:
        """(offset seconds, channel, status) of every message attempt, in order."""
        return [(self.offset(m.at), m.channel, m.status or m.kind) for m in state.messages]

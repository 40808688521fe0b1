"""Routes a customer event to the runs it concerns.

A trigger event goes to its scenario by signal-with-start (starting a run or reaching the
running one); any other event is signalled to the customer's running runs that listen for it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.engine import labels, search
from orchestrator.engine.definitions import Definitions, remember, steps_only
from orchestrator.engine.ids import (
    RunKeyError,
    customer_ref,
    run_key,
    spread_delay,
    workflow_id,
)
from orchestrator.engine.messages import REVISION, EventSignal, RunInput, RunOptions, RunState
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.contracts import Need, check_event, needs
from orchestrator.language.expressions import ExpressionError, condition_context, holds
from orchestrator.language.model import Scenario

log = logging.getLogger(__name__)


@dataclass
class Routed:
    """What happened to one event, for the caller's report."""

    started_or_signalled: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class Plan:
    #: (scenario, run key, workflow id) of every run the event starts or reaches.
    starts: list[tuple[Scenario, str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Workflow ids of the customer's runs that listen to the event, when the caller read them
    #: already (the API does, in the commit that stores the event); None: the router reads.
    listeners: list[str] | None = None


@dataclass(frozen=True)
class StartRequest:
    run_input: RunInput
    workflow_id: str
    task_queue: str
    event: EventSignal
    search_attributes: TypedSearchAttributes | None
    summary: str | None
    details: str | None
    #: ``trigger.spread``: the run's first step waits this long (None: at once).
    start_delay: timedelta | None = None

    async def send(self, client: Client) -> WorkflowHandle[Any, RunState]:
        return await client.start_workflow(
            ScenarioWorkflow.run,
            self.run_input,
            id=self.workflow_id,
            task_queue=self.task_queue,
            start_signal="event",
            start_signal_args=[self.event],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=self.search_attributes,
            static_summary=self.summary,
            static_details=self.details,
            start_delay=self.start_delay,
        )


class RunIndex(Protocol):
    """Where the router finds a customer's runs (the SQL store keeps one)."""

    async def add(self, workflow_id: str, scenario: str, customer_id: str) -> None: ...

    async def for_customer(self, customer_id: str, scenarios: list[str]) -> list[str]: ...

    async def remove(self, workflow_id: str) -> None: ...


class InMemoryRunIndex:
    """The run index in a dict, kept as the SQL index keeps it (a workflow id keeps its first
    scenario and customer): for tests that drive the router without a database."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[str, str]] = {}

    async def add(self, workflow_id: str, scenario: str, customer_id: str) -> None:
        self.runs.setdefault(workflow_id, (scenario, customer_id))

    async def for_customer(self, customer_id: str, scenarios: list[str]) -> list[str]:
        return [w for w, (s, c) in self.runs.items() if c == customer_id and s in scenarios]

    async def remove(self, workflow_id: str) -> None:
        self.runs.pop(workflow_id, None)


class VisibilityRunIndex:
    """Asks Temporal's visibility store: needs no database, but costs a query per event."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def add(self, workflow_id: str, scenario: str, customer_id: str) -> None:
        return None

    async def for_customer(self, customer_id: str, scenarios: list[str]) -> list[str]:
        ids = ", ".join(f'"{_quote(s)}"' for s in scenarios)
        query = (
            f'OmniCustomerId = "{_quote(customer_ref(customer_id))}" AND OmniScenario IN ({ids}) '
            f'AND ExecutionStatus = "Running"'
        )
        return [
            wf.id
            async for wf in self.client.list_workflows(query)
            if wf.status == WorkflowExecutionStatus.RUNNING
        ]

    async def remove(self, workflow_id: str) -> None:
        return None


class Router:
    def __init__(
        self,
        client: Client,
        scenarios: dict[str, Scenario],
        *,
        task_queue: str,
        options: RunOptions | None = None,
        index: RunIndex | None = None,
        record_runs: bool = True,
        definitions: Definitions | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.options = options or RunOptions()
        self.index = index or VisibilityRunIndex(client)
        self.record_runs = record_runs
        self.definitions = definitions or Definitions()
        self.use(scenarios)

    def use(self, scenarios: dict[str, Scenario]) -> None:
        """Route with these definitions from now on: new runs start with them, runs in flight
        keep the version they started with (it travels in their input)."""
        self.scenarios = scenarios
        for s in scenarios.values():
            remember(s)
        self._listeners: dict[str, list[str]] = {}
        self._known = {name for s in scenarios.values() for name in s.listens_to()}
        self._contract: list[Need] | None = None

    def warnings(self, name: str, data: dict[str, Any]) -> list[str]:
        """Fields of this event that a scenario's templates or conditions read (per its
        ``sample:``) but that ``data`` lacks: reported by the API (422 in strict mode)."""
        if self._contract is None:
            self._contract = [n for s in self.scenarios.values() for n in needs(s)]
        return check_event(self._contract, name, data)

    def plan(self, event: EventSignal) -> Plan:
        """Which runs a trigger event starts or reaches: pure, so it can be stored first."""
        plan = Plan()
        for s in self.scenarios.values():
            if s.trigger.event != event.name:
                continue
            if not _trigger_holds(s, event):
                plan.skipped.append(f"{s.id}: trigger condition is false")
                continue
            try:
                key = run_key(s, event.customer_id, event.data)
            except RunKeyError as exc:
                plan.skipped.append(str(exc))
                continue
            plan.starts.append((s, key, workflow_id(s.id, key)))
        return plan

    async def route(self, event: EventSignal, plan: Plan | None = None) -> Routed:
        """Start or reach every triggered run and signal every listening run, concurrently.

        With ``record_runs`` off the caller persists the planned runs itself (the API does,
        in the same transaction that claims the event id)."""
        plan = plan or self.plan(event)
        routed = Routed(skipped=list(plan.skipped))
        starts = [self._start(s, key, event, routed) for s, key, _ in plan.starts]
        await asyncio.gather(*starts, self._signal_listeners(event, routed, plan.listeners))
        return routed

    async def _start(self, s: Scenario, key: str, event: EventSignal, routed: Routed) -> None:
        await self.definitions.publish(s)  # its templates, findable by any worker
        request = self.start_request(s, key, event)
        await request.send(self.client)
        if self.record_runs:
            await self.index.add(request.workflow_id, s.id, event.customer_id)
        routed.started_or_signalled.append(request.workflow_id)

    def start_request(self, s: Scenario, key: str, event: EventSignal) -> StartRequest:
        """The one signal-with-start that starts (or reaches) ``s``'s run ``key`` with
        ``event`` (bench/ingest.py also sends it bare, as its baseline)."""
        options = dataclasses.replace(self.options, revision=REVISION)
        # Search attributes set at start cost nothing; upserted later, each is an action.
        attributes = (
            TypedSearchAttributes(
                [
                    SearchAttributePair(search.SCENARIO, s.id),
                    SearchAttributePair(search.VERSION, s.version),
                    SearchAttributePair(search.CUSTOMER, customer_ref(event.customer_id)),
                ]
            )
            if options.index
            else None
        )
        wid = workflow_id(s.id, key)
        spread = s.trigger.spread_s
        return StartRequest(
            run_input=RunInput(
                scenario=steps_only(s), customer_id=event.customer_id, run_key=key, options=options
            ),
            workflow_id=wid,
            task_queue=self.task_queue,
            event=event,
            search_attributes=attributes,
            # The Temporal UI's summary and details: title, customer reference, run key.
            summary=labels.static_summary(s, event.customer_id, key),
            details=labels.static_details(s, event.customer_id, key),
            start_delay=timedelta(seconds=spread_delay(wid, spread)) if spread else None,
        )

    async def _signal_listeners(
        self, event: EventSignal, routed: Routed, known: list[str] | None
    ) -> None:
        listeners = self.listeners(event.name)
        if not listeners:
            return
        if known is None:
            known = await self.index.for_customer(event.customer_id, listeners)
        for wid in known:
            await self.signal(wid, event, routed)

    def listeners(self, name: str) -> list[str]:
        """Scenarios whose running runs care about ``name`` (other than as their trigger)."""
        if name not in self._listeners:
            self._listeners[name] = [
                s.id
                for s in self.scenarios.values()
                if name in s.listens_to() and s.trigger.event != name
            ]
        return self._listeners[name]

    def knows(self, name: str) -> bool:
        return name in self._known

    async def signal(self, wid: str, event: EventSignal, routed: Routed) -> None:
        """Signal one run; a run that has ended leaves the index."""
        try:
            await self.client.get_workflow_handle(wid).signal(ScenarioWorkflow.event, event)
            routed.signalled.append(wid)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                await self.index.remove(wid)
            else:
                raise


def _trigger_holds(s: Scenario, event: EventSignal) -> bool:
    """Pre-filter so a false trigger condition starts no run (the workflow checks again)."""
    if s.trigger.when is None:
        return True
    ctx = condition_context(event=event.data, trigger=event.data, contact={}, engagement={})
    try:
        return holds(s.trigger.when, ctx)
    except ExpressionError:
        return True  # it may need the contact; the workflow decides with the full context


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')

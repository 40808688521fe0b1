"""Routes a customer event to the runs it concerns.

A trigger event goes to its scenario by signal-with-start (starting a run or reaching the
running one); any other event is signalled to the customer's running runs that listen for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from orchestrator.expressions import ExpressionError, condition_context, evaluate
from orchestrator.ids import RunKeyError, run_key, workflow_id
from orchestrator.messages import EventSignal, RunInput, RunOptions
from orchestrator.model import Scenario
from orchestrator.workflow import ScenarioWorkflow

log = logging.getLogger(__name__)


@dataclass
class Routed:
    """What happened to one event, for the caller's report."""

    started_or_signalled: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def unrouted(self) -> bool:
        return not (self.started_or_signalled or self.signalled)


class Router:
    def __init__(self, client: Client, scenarios: dict[str, Scenario], *, task_queue: str,
                 options: RunOptions | None = None) -> None:
        self.client = client
        self.scenarios = scenarios
        self.task_queue = task_queue
        self.options = options or RunOptions()

    async def route(self, event: EventSignal) -> Routed:
        routed = Routed()
        for s in self.scenarios.values():
            if s.trigger.event != event.name:
                continue
            if not _trigger_holds(s, event):
                routed.skipped.append(f"{s.id}: trigger condition is false")
                continue
            try:
                key = run_key(s, event.customer_id, event.data)
            except RunKeyError as exc:
                routed.skipped.append(str(exc))
                continue
            wid = workflow_id(s.id, key)
            await self.client.start_workflow(
                ScenarioWorkflow.run,
                RunInput(scenario=s, customer_id=event.customer_id, run_key=key,
                         options=self.options),
                id=wid, task_queue=self.task_queue, start_signal="event",
                start_signal_args=[event],
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            routed.started_or_signalled.append(wid)
        listeners = [s.id for s in self.scenarios.values()
                     if event.name in s.listens_to() and s.trigger.event != event.name]
        if listeners:
            await self._signal_running(event, listeners, routed)
        return routed

    async def _signal_running(self, event: EventSignal, scenario_ids: list[str],
                              routed: Routed) -> None:
        ids = ", ".join(f'"{_quote(s)}"' for s in scenario_ids)
        query = (f'OmniCustomerId = "{_quote(event.customer_id)}" AND OmniScenario IN ({ids}) '
                 f'AND ExecutionStatus = "Running"')
        async for wf in self.client.list_workflows(query):
            if wf.status != WorkflowExecutionStatus.RUNNING:
                continue
            try:
                await self.client.get_workflow_handle(wf.id).signal(ScenarioWorkflow.event, event)
                routed.signalled.append(wf.id)
            except RPCError as exc:  # the run ended between listing and signalling
                log.info("run %s did not take %s: %s", wf.id, event.name, exc)


def _trigger_holds(s: Scenario, event: EventSignal) -> bool:
    """Pre-filter so a false trigger condition starts no run (the workflow checks again)."""
    if s.trigger.when is None:
        return True
    ctx = condition_context(event=event.data, trigger=event.data, contact={}, engagement={})
    try:
        return bool(evaluate(s.trigger.when, ctx))
    except ExpressionError:
        return True  # it may need the contact; the workflow decides with the full context


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')

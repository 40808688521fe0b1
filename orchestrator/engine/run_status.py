"""What Temporal says of a run, read without a billable action.

``describe`` (free on Temporal Cloud, unlike a query) gives the workflow type, Temporal's status,
the start delay and close time, and the search attributes the router sets at start and the run
upserts at its end (``OmniOutcome``). A run that failed, was terminated, timed out or was
cancelled says why in its close event; reading history is free too. So a page of runs costs no
action per run; only a run's full timeline (the ``state`` query) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistoryEventFilterType
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.engine import search
from orchestrator.engine.delayed import Delayed, delayed_of
from orchestrator.engine.ids import chain_ref

#: The type name ScenarioWorkflow is registered under; other types in the namespace are not
#: Omni's runs (another app's workflows), and no route reads or signals them.
WORKFLOW_TYPE = "ScenarioRun"
#: A describe or a history read answers in milliseconds; past this the server is unwell.
READ_TIMEOUT = timedelta(seconds=5)
#: Temporal's closed statuses other than COMPLETED, as Omni names them.
CLOSED_OTHERWISE = {
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CANCELED: "cancelled",
}
#: Statuses a run can be read in: not started yet (trigger.spread), running, ended (completed,
#: or open with its outcome decided during trigger.cooldown), or one of CLOSED_OTHERWISE.
OPEN = ("scheduled", "running")


@dataclass(frozen=True)
class RunStatus:
    workflow_id: str
    run_id: str
    #: scheduled, running, ended, continued_as_new, failed, terminated, timed_out, cancelled.
    status: str
    scenario: str
    version: str
    customer_ref: str
    #: ``OmniOutcome``; for a run that closed otherwise without one, its status.
    outcome: str
    #: Why the run closed otherwise: the failure's message, the termination's reason.
    reason: str
    started_at: datetime
    closed_at: datetime | None
    #: The run as the send log names it (``engine.ids.chain_ref``).
    run_ref: str
    #: When a scheduled run's first step runs.
    starts_at: datetime | None

    @property
    def open(self) -> bool:
        return self.status in OPEN


async def describe_run(
    client: Client, workflow_id: str, run_id: str | None = None
) -> RunStatus | None:
    """The run's status from ``describe`` (and its close event when it closed otherwise);
    None when Temporal has no such workflow or it is not a ScenarioRun."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        desc = await handle.describe(rpc_timeout=READ_TIMEOUT)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise
    if desc.workflow_type != WORKFLOW_TYPE:
        return None
    attrs = desc.typed_search_attributes
    outcome = attrs.get(search.OUTCOME) or ""
    reason = ""
    starts_at = None
    if desc.status in CLOSED_OTHERWISE:
        status = CLOSED_OTHERWISE[desc.status]
        outcome = outcome or status
        reason = await close_reason(client, workflow_id, desc.run_id)
    elif desc.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
        status = "continued_as_new"
    elif desc.status == WorkflowExecutionStatus.COMPLETED or outcome:
        status = "ended"
    elif desc.execution_time is not None and desc.execution_time > datetime.now(UTC):
        status, starts_at = "scheduled", desc.execution_time
    else:
        status = "running"
    return RunStatus(
        workflow_id=workflow_id,
        run_id=desc.run_id,
        status=status,
        scenario=attrs.get(search.SCENARIO) or "",
        version=attrs.get(search.VERSION) or "",
        customer_ref=attrs.get(search.CUSTOMER) or "",
        outcome=outcome,
        reason=reason,
        started_at=desc.start_time,
        closed_at=desc.close_time,
        run_ref=chain_ref(
            workflow_id, desc.raw_description.workflow_execution_info.first_run_id or desc.run_id
        ),
        starts_at=starts_at,
    )


async def close_reason(client: Client, workflow_id: str, run_id: str) -> str:
    """Why a run closed otherwise than completing, from its close event."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for ev in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT, rpc_timeout=READ_TIMEOUT
    ):
        t = ev.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = ev.workflow_execution_failed_event_attributes.failure
            return str(await client.data_converter.decode_failure(failure))
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            return ev.workflow_execution_terminated_event_attributes.reason or "terminated"
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            return "workflow execution timeout"
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            return "cancelled through Temporal (a cancel request)"
    return ""


@dataclass(frozen=True)
class Waiting:
    """A running run's open timer: what it waits for (the timer's summary) and until when."""

    summary: str
    until: datetime


async def waiting(client: Client, workflow_id: str, run_id: str) -> Waiting | None:
    """The run's latest open timer, from its history (free, unlike the ``state`` query that
    knows the step too). Histories stay small: runs continue as new before they grow."""
    return (await read_history(client, workflow_id, run_id, with_start=False))[1]


async def read_history(
    client: Client, workflow_id: str, run_id: str, *, with_start: bool = True
) -> tuple[Delayed | None, Waiting | None]:
    """One read of the run's history: what its start event says (``with_start``) and its
    latest open timer."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    start: Delayed | None = None
    open_timers: dict[int, tuple[str, datetime]] = {}
    async for ev in handle.fetch_history_events(rpc_timeout=READ_TIMEOUT):
        t = ev.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED and with_start:
            start = await delayed_of(client, ev)
        elif t == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = ev.timer_started_event_attributes
            until = ev.event_time.ToDatetime(tzinfo=UTC) + attrs.start_to_fire_timeout.ToTimedelta()
            summary = ""
            if ev.user_metadata.HasField("summary"):
                [summary] = await client.data_converter.decode([ev.user_metadata.summary], [str])
            open_timers[ev.event_id] = (summary, until)
        elif t == EventType.EVENT_TYPE_TIMER_FIRED:
            open_timers.pop(ev.timer_fired_event_attributes.started_event_id, None)
        elif t == EventType.EVENT_TYPE_TIMER_CANCELED:
            open_timers.pop(ev.timer_canceled_event_attributes.started_event_id, None)
    if not open_timers:
        return start, None
    summary, until = open_timers[max(open_timers)]
    return start, Waiting(summary, until)

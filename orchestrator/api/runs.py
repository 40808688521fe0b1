"""/v1/runs and /v1/contacts/{id}/runs: what the shop backend and support staff see of runs.

A run's status is Temporal's, from ``describe`` (not billed): a run that failed, was terminated
or timed out reads so, with the reason. Looking costs no billable action: a running run's
view comes from its history (who, which key, the timer it waits on) and the send log (its
messages and reactions); only ``?live=true`` asks the run itself (its ``state`` query, 1
action). Which runs a customer has comes from the run index. Workflows of other types in the
namespace are not runs: 404, never queried or signalled.

Workflow ids contain ``/`` (``abandoned_cart/customer-42/cart-c-981``), so the routes take them
with a ``path`` converter: URL-encode nothing, or encode the slashes as ``%2F`` — both reach the
same run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.api.auth import Admin, Read, require_key
from orchestrator.api.events import services
from orchestrator.api.services import Services
from orchestrator.engine.delayed import delayed_run
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.messages import CancelRun, RunState
from orchestrator.engine.run_status import READ_TIMEOUT, RunStatus, describe_run, read_history
from orchestrator.engine.text import CustomerId, Text, WorkflowId
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.store.message_views import LoggedMessage, Wanted

log = logging.getLogger(__name__)
#: How long one run's ``state`` query may take: a running run whose worker is down (or busy
#: past this) answers 503 instead of holding the request for the server's own deadline.
QUERY_TIMEOUT = timedelta(seconds=5)
#: A run's messages shown at most (a run sends a few; a digest's may send more).
MESSAGES_SHOWN = 200
#: A run's reactions, as its ``state`` names them, and the send log column of each.
REACTIONS = {"opened": "opened_at", "clicked": "clicked_at", "replied": "replied_at"}
router = APIRouter(prefix="/v1", tags=["runs"], dependencies=[Depends(require_key)])
Svc = Annotated[Services, Depends(services)]

WID = "abandoned_cart/customer-42/cart-c-981"
MESSAGE_EXAMPLE: dict[str, Any] = {
    "at": "2026-05-04T10:00:00+00:00",
    "kind": "send",
    "step": "steps.2.rung1",
    "channel": "email",
    "template": "abandoned_cart/reminder",
    "status": "sent",
}
RUN_EXAMPLE: dict[str, Any] = {
    "workflow_id": WID,
    "status": "running",
    "scenario": "abandoned_cart",
    "version": "3f2a9c1e",
    "customer_id": "42",
    "run_key": "customer-42/cart-c-981",
    "current_step": "steps.2",
    "next_wakeup": "2026-05-04T14:00:00+00:00",
    "outcome": "",
    "engagement": {"opened": False, "clicked": False, "replied": False},
    "messages": [MESSAGE_EXAMPLE],
    "started_at": "2026-05-04T09:00:00+00:00",
}


class RunOut(BaseModel):
    """One run: where it is, what it sent, how it ended (``outcome`` empty while running)."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})

    workflow_id: str
    status: str = Field(
        description="Temporal's status: scheduled (waiting out its trigger.spread; starts at "
        "next_wakeup), running, ended, or failed, terminated, timed_out, cancelled (see reason)"
    )
    scenario: str
    version: str
    customer_id: str
    run_key: str
    current_step: str = Field(
        "",
        description="where the run waits, in the console's words (the timer's summary); with "
        "?live=true the step's path (steps.2)",
    )
    next_wakeup: str = ""
    outcome: str = ""
    #: Why a run failed, was terminated, timed out or was cancelled through Temporal.
    reason: str = ""
    engagement: dict[str, bool] = Field(default_factory=dict)
    messages: list[dict[str, Any]] = Field(
        default_factory=list, description="sends and skipped sends, oldest first"
    )
    started_at: str = ""
    closed_at: str = ""


class RunsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"customer_id": "42", "runs": [RUN_EXAMPLE]}]}
    )

    customer_id: str
    runs: list[RunOut]


class CancelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "customer called support: no reminders"}]},
    )

    reason: Text = Field(min_length=1, max_length=500, description="recorded in the run")


async def run_status(client: Client, workflow_id: str) -> RunStatus:
    """Temporal's word on the run (free); 404 for an unknown id or another app's workflow."""
    found = await describe_run(client, workflow_id)
    if found is None:
        raise HTTPException(404, detail=f"no run {workflow_id!r}")
    return found


def listed(found: RunStatus, customer_id: str, run_key: str = "") -> RunOut:
    """A run as describe shows it: no step, timeline or messages (those take a query)."""
    return RunOut(
        workflow_id=found.workflow_id,
        status=found.status,
        scenario=found.scenario,
        version=found.version,
        customer_id=customer_id,
        run_key=run_key or found.workflow_id.removeprefix(f"{found.scenario}/"),
        next_wakeup=found.starts_at.isoformat() if found.starts_at else "",
        outcome=found.outcome,
        reason=found.reason,
        started_at=found.started_at.isoformat(),
        closed_at=found.closed_at.isoformat() if found.closed_at else "",
    )


def of_state(found: RunStatus, state: RunState) -> RunOut:
    messages = [
        {k: v for k, v in dataclasses.asdict(m).items() if v and k != "preview"}
        for m in state.messages
    ]
    return RunOut(
        workflow_id=found.workflow_id,
        # Open during trigger.cooldown, its outcome decided (OmniOutcome says so when indexed).
        status="ended" if found.status == "running" and state.outcome else found.status,
        scenario=state.scenario,
        version=state.version,
        customer_id=state.customer_id,
        run_key=state.run_key,
        current_step=state.current_step,
        next_wakeup=state.next_wakeup,
        outcome=state.outcome or found.outcome,
        reason=found.reason,
        engagement=state.engagement,
        messages=messages,
        started_at=state.started_at or found.started_at.isoformat(),
        closed_at=found.closed_at.isoformat() if found.closed_at else "",
    )


async def described(client: Client, found: RunStatus) -> RunOut:
    """``listed`` with the customer and key from the run's start event (a free history read)."""
    run = (await delayed_run(client, found.workflow_id, found.run_id)).run_input
    return listed(found, run.customer_id, run.run_key)


def _entry(m: LoggedMessage) -> dict[str, Any]:
    """A send log row as the ``state`` query shows a message."""
    entry = {
        "at": m.at.isoformat(),
        "kind": "send" if m.status == "sent" else "skip",
        "step": m.step,
        "channel": m.channel,
        "template": m.template,
        "status": m.status,
        "reason": m.reason,
        "key": m.key,
    }
    return {k: v for k, v in entry.items() if v}


async def watched(svc: Services, found: RunStatus) -> RunOut:
    """An open run without asking it (free): who and which key from its start event, where
    it waits and until when from its open timer, its messages and reactions from the send
    log (each send's fate is written there before the run hears of it)."""
    start, timer = await read_history(svc.client, found.workflow_id, found.run_id)
    if start is None:
        raise LookupError(f"{found.workflow_id}: no start event")
    run = start.run_input
    out = listed(found, run.customer_id, run.run_key)
    if timer is not None:
        out.current_step, out.next_wakeup = timer.summary, timer.until.isoformat()
    wanted = Wanted(customer_id=out.customer_id, run=found.run_ref)
    logged = await svc.messages.recent(wanted, limit=MESSAGES_SHOWN)
    out.messages = [_entry(m) for m in reversed(logged)]
    out.engagement = {k: any(getattr(m, col) for m in logged) for k, col in REACTIONS.items()}
    return out


async def full_run(svc: Services, found: RunStatus, *, live: bool = False) -> RunOut:
    """One run with its step and messages, free; ``live``: a running run's own ``state``
    query (1 billable action), bounded by QUERY_TIMEOUT (503 when its worker does not answer)."""
    client = svc.client
    handle = client.get_workflow_handle(
        found.workflow_id, run_id=found.run_id, result_type=RunState
    )
    if found.status == "ended" and found.closed_at is not None:
        # The result is the final state, read from the close event (history reads are free).
        return of_state(found, await handle.result(follow_runs=False, rpc_timeout=READ_TIMEOUT))
    if found.status not in ("running", "ended"):
        # Scheduled (no workflow code has run yet) or closed otherwise (no worker needed).
        return await described(client, found)
    if not live:
        return await watched(svc, found)
    try:
        # The client retries a query whose attempt failed (each attempt bounded by its rpc
        # timeout): the whole wait is bounded here.
        state = await asyncio.wait_for(
            handle.query(ScenarioWorkflow.state, rpc_timeout=QUERY_TIMEOUT),
            QUERY_TIMEOUT.total_seconds(),
        )
    except (RPCError, TimeoutError) as exc:
        # The client's own deadline reads CANCELLED ("Timeout expired"); the server's, and
        # a worker that never polls, DEADLINE_EXCEEDED.
        if isinstance(exc, RPCError) and exc.status not in (
            RPCStatusCode.CANCELLED,
            RPCStatusCode.DEADLINE_EXCEEDED,
            RPCStatusCode.UNAVAILABLE,
        ):
            raise
        raise HTTPException(
            503,
            detail=f"run {found.workflow_id!r} is {found.status}; its worker did not answer "
            f"the state query within {QUERY_TIMEOUT.total_seconds():.0f} s",
            headers={"Retry-After": "5"},
        ) from None
    return of_state(found, state)


@router.get(
    "/contacts/{contact_id:path}/runs",
    response_model=RunsOut,
    tags=["contacts"],
    dependencies=[Read],
)
async def customer_runs(contact_id: CustomerId, svc: Svc) -> RunsOut:
    """The customer's runs (from the run index) as Temporal describes them: status, outcome,
    why a run failed or was terminated. No step or messages here: each would take a billable
    query per run; ``GET /v1/runs/{workflow_id}`` has them."""
    runs = []
    mine = customer_ref(contact_id)
    for wid in await svc.runs.all_for_customer(contact_id):
        found = await describe_run(svc.client, wid)
        if found is not None and found.customer_ref == mine:
            runs.append(listed(found, contact_id))
    return RunsOut(customer_id=contact_id, runs=runs)


@router.get(
    "/runs/{workflow_id:path}",
    response_model=RunOut,
    dependencies=[Read],
    responses={
        404: {"description": "no such run (or a workflow that is not an Omni run)"},
        503: {"description": "the run is running and its worker did not answer in time"},
    },
)
async def get_run(workflow_id: WorkflowId, svc: Svc, live: bool = False) -> RunOut:
    """One run's state, at no billable action. The id may contain ``/``:
    ``GET /v1/runs/abandoned_cart/customer-42``. ``?live=true`` asks a running run itself
    (its ``state`` query: 1 billable action; 503 when its worker does not answer in time)."""
    return await full_run(svc, await run_status(svc.client, workflow_id), live=live)


@router.post(
    "/runs/{workflow_id:path}/cancel",
    response_model=RunOut,
    dependencies=[Admin],
    responses={404: {"description": "no such run"}, 409: {"description": "run already ended"}},
)
async def cancel_run(workflow_id: WorkflowId, body: CancelIn, svc: Svc) -> RunOut:
    """End a running run now: no further messages; the reason is kept in its timeline."""
    found = await run_status(svc.client, workflow_id)
    if not found.open:
        raise HTTPException(
            409, detail=f"run {workflow_id!r} already {found.status}: {found.outcome}"
        )
    handle = svc.client.get_workflow_handle(workflow_id, run_id=found.run_id)
    await handle.signal(ScenarioWorkflow.cancel, CancelRun(reason=body.reason))
    log.info("run cancelled", extra={"workflow_id": workflow_id})
    if found.status == "scheduled":
        # The signal waits in its history: the run's first step sees it and ends, sending
        # nothing (Temporal does not end a start delay for a plain signal).
        return await full_run(svc, found)
    try:  # the run ends within a workflow task
        await asyncio.wait_for(handle.result(), timeout=10)
    except TimeoutError:  # its worker is down: the cancel waits in its history
        return await described(svc.client, found)
    return await full_run(svc, await run_status(svc.client, workflow_id))

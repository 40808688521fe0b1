"""/v1/runs and /v1/contacts/{id}/runs: what the shop backend and support staff see of runs.

A run's state comes from the run itself (the ``state`` query); which runs a customer has comes
from the run index. Workflow ids contain ``/`` (``abandoned_cart/customer-42/cart-c-981``), so
the routes take them with a ``path`` converter: URL-encode nothing, or encode the slashes as
``%2F`` — both reach the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.api.auth import require_key
from orchestrator.api.events import services
from orchestrator.api.services import Services
from orchestrator.engine.delayed import delayed_run, not_started_yet
from orchestrator.engine.messages import CancelRun, RunState
from orchestrator.engine.workflow import ScenarioWorkflow

log = logging.getLogger(__name__)
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
        description="scheduled (waiting out its trigger.spread; starts at next_wakeup), "
        "running or ended"
    )
    scenario: str
    version: str
    customer_id: str
    run_key: str
    current_step: str = ""
    next_wakeup: str = ""
    outcome: str = ""
    engagement: dict[str, bool] = Field(default_factory=dict)
    messages: list[dict[str, Any]] = Field(
        default_factory=list, description="sends and skipped sends, oldest first"
    )
    started_at: str = ""


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

    reason: str = Field(min_length=1, max_length=500, description="recorded in the run")


async def run_state(client: Client, workflow_id: str) -> RunOut | None:
    """A run's state from its ``state`` query; None when Temporal has no such run."""
    handle = client.get_workflow_handle_for(ScenarioWorkflow.run, workflow_id)
    try:
        state: RunState = await handle.query(ScenarioWorkflow.state)
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        if not_started_yet(exc):
            return await scheduled_run(client, workflow_id)
        raise
    messages = [
        {k: v for k, v in dataclasses.asdict(m).items() if v and k != "preview"}
        for m in state.messages
    ]
    return RunOut(
        workflow_id=workflow_id,
        status="ended" if state.outcome else "running",
        scenario=state.scenario,
        version=state.version,
        customer_id=state.customer_id,
        run_key=state.run_key,
        current_step=state.current_step,
        next_wakeup=state.next_wakeup,
        outcome=state.outcome,
        engagement=state.engagement,
        messages=messages,
        started_at=state.started_at,
    )


async def scheduled_run(client: Client, workflow_id: str) -> RunOut:
    delayed = await delayed_run(client, workflow_id)
    run = delayed.run_input
    return RunOut(
        workflow_id=workflow_id,
        status="scheduled",
        scenario=run.scenario.id,
        version=run.scenario.version,
        customer_id=run.customer_id,
        run_key=run.run_key,
        next_wakeup=delayed.starts_at.isoformat(),
    )


@router.get("/contacts/{contact_id:path}/runs", response_model=RunsOut, tags=["contacts"])
async def customer_runs(contact_id: str, svc: Svc) -> RunsOut:
    """The customer's runs (from the run index), newest state of each from the run itself."""
    runs = []
    for wid in await svc.runs.all_for_customer(contact_id):
        run = await run_state(svc.client, wid)
        if run is not None and run.customer_id == contact_id:
            runs.append(run)
    return RunsOut(customer_id=contact_id, runs=runs)


@router.get(
    "/runs/{workflow_id:path}",
    response_model=RunOut,
    responses={404: {"description": "no such run"}},
)
async def get_run(workflow_id: str, svc: Svc) -> RunOut:
    """One run's state. The id may contain ``/``: ``GET /v1/runs/abandoned_cart/customer-42``."""
    run = await run_state(svc.client, workflow_id)
    if run is None:
        raise HTTPException(404, detail=f"no run {workflow_id!r}")
    return run


@router.post(
    "/runs/{workflow_id:path}/cancel",
    response_model=RunOut,
    responses={404: {"description": "no such run"}, 409: {"description": "run already ended"}},
)
async def cancel_run(workflow_id: str, body: CancelIn, svc: Svc) -> RunOut:
    """End a running run now: no further messages; the reason is kept in its timeline."""
    run = await run_state(svc.client, workflow_id)
    if run is None:
        raise HTTPException(404, detail=f"no run {workflow_id!r}")
    if run.status == "ended":
        raise HTTPException(409, detail=f"run {workflow_id!r} already ended: {run.outcome}")
    handle = svc.client.get_workflow_handle_for(ScenarioWorkflow.run, workflow_id)
    await handle.signal(ScenarioWorkflow.cancel, CancelRun(reason=body.reason))
    log.info("run cancelled", extra={"workflow_id": workflow_id})
    if run.status == "scheduled":
        # The signal waits in its history: the run's first step sees it and ends, sending
        # nothing (Temporal does not end a start delay for a plain signal).
        return run
    with contextlib.suppress(TimeoutError):  # the run ends within a workflow task
        await asyncio.wait_for(handle.result(), timeout=10)
    return await run_state(svc.client, workflow_id) or run

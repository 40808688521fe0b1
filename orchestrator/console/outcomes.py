"""Run outcomes, copied from Temporal's visibility into the store's ``run_outcomes``.

Every run already puts its scenario, version, customer reference and, when it ends, its
outcome into search attributes (``OmniScenario``, ``OmniScenarioVersion``, ``OmniCustomerId``,
``OmniOutcome``). The console copies what changed since the last copy before it shows a funnel
or a customer: runs started after the newest start it holds and runs closed after the newest
close, with a minute of slack for visibility's lag (the copy is an idempotent upsert). A run
that failed, was terminated, timed out or was cancelled without an outcome counts under that
status; one that decided its outcome first (during ``trigger.cooldown``) under its outcome. So the
worker and the workflow write nothing new, and the funnel's SQL reads runs beside the send log.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from orchestrator.engine import search
from orchestrator.engine.run_status import CLOSED_OTHERWISE
from orchestrator.store.funnel import OutcomeRecord, SqlFunnel

SLACK = timedelta(minutes=1)
#: Executions copied in one go at most; the next view continues from there.
MAX_PER_SYNC = 50_000
_LOCK = asyncio.Lock()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def visibility_query(started: datetime | None, closed: datetime | None) -> str:
    query = "WorkflowType = 'ScenarioRun'"
    since = [f"StartTime >= '{_rfc3339(started - SLACK)}'"] if started else []
    if closed:
        since.append(f"CloseTime >= '{_rfc3339(closed - SLACK)}'")
    elif started:
        since.append("ExecutionStatus != 'Running'")
    return f"{query} AND ({' OR '.join(since)})" if since else query


def record_of(wf: WorkflowExecution) -> OutcomeRecord | None:
    attrs = wf.typed_search_attributes
    scenario = attrs.get(search.SCENARIO)
    if scenario is None or wf.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
        return None  # not indexed yet, or one link of a chain (its last link counts)
    if wf.status in CLOSED_OTHERWISE:  # failed, terminated, timed_out, cancelled
        status = CLOSED_OTHERWISE[wf.status]
    else:
        status = wf.status.name.lower() if wf.status is not None else "unknown"
    outcome = attrs.get(search.OUTCOME) or ("" if status == "running" else status)
    return OutcomeRecord(
        run_id=wf.run_id,
        workflow_id=wf.id,
        scenario=scenario,
        version=attrs.get(search.VERSION) or "",
        customer_ref=attrs.get(search.CUSTOMER) or "",
        status=status,
        outcome=outcome,
        started_at=wf.start_time,
        closed_at=wf.close_time,
    )


async def sync_outcomes(client: Client, store: SqlFunnel) -> int:
    """Copy new and newly closed runs; returns how many executions were read."""
    async with _LOCK:
        started, closed = await store.watermarks()
        batch: list[OutcomeRecord] = []
        read = 0
        async for wf in client.list_workflows(
            visibility_query(started, closed), page_size=1000, limit=MAX_PER_SYNC
        ):
            read += 1
            found = record_of(wf)
            if found is not None:
                batch.append(found)
            if len(batch) >= 1000:
                await store.save_outcomes(batch)
                batch = []
        await store.save_outcomes(batch)
        return read

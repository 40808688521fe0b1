"""Runs Temporal holds before their first step (``trigger.spread``): no workflow code has run,
so they answer no query yet; their start event says what they are and when they start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.engine.messages import RunInput


@dataclass(frozen=True)
class Delayed:
    run_input: RunInput
    #: When Temporal dispatches the run's first step (its start plus its start delay).
    starts_at: datetime


def not_started_yet(exc: RPCError) -> bool:
    """A query to a run in its start delay: Temporal refuses it (``FAILED_PRECONDITION``,
    "Workflow task is not scheduled yet")."""
    return exc.status == RPCStatusCode.FAILED_PRECONDITION


async def delayed_run(client: Client, workflow_id: str, run_id: str | None = None) -> Delayed:
    """What a run in its start delay is: its input, decoded as any payload (codec included),
    and when its first step runs."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1):
        started = event.workflow_execution_started_event_attributes
        [run_input] = await client.data_converter.decode(started.input.payloads, [RunInput])
        at = event.event_time.ToDatetime(tzinfo=UTC)
        return Delayed(run_input, at + started.first_workflow_task_backoff.ToTimedelta())
    raise LookupError(f"{workflow_id}: no history")

"""Runs Temporal holds before their first step (``trigger.spread``): no workflow code has run,
so they answer no query yet; their start event says what they are and when they start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.api.history.v1 import HistoryEvent
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


async def delayed_of(client: Client, event: HistoryEvent) -> Delayed:
    """The run a history's first event (its start) says, decoded as any payload (codec
    included)."""
    started = event.workflow_execution_started_event_attributes
    [run_input] = await client.data_converter.decode(started.input.payloads, [RunInput])
    at = event.event_time.ToDatetime(tzinfo=UTC)
    return Delayed(run_input, at + started.first_workflow_task_backoff.ToTimedelta())


async def delayed_run(client: Client, workflow_id: str, run_id: str | None = None) -> Delayed:
    """What a run in its start delay is: its input and when its first step runs."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1):
        return await delayed_of(client, event)
    raise LookupError(f"{workflow_id}: no history")

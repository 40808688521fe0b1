"""Runs that end otherwise than completing (failed, timed out), another app's workflow type in
the namespace, and a count of the Temporal calls a page view makes (kept out of conftest.py:
test modules import them)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from orchestrator.engine import search
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import ContactDirectory
from orchestrator.engine.ids import customer_ref, workflow_id
from orchestrator.engine.messages import REVISION, Carried, EventSignal, RunInput, RunOptions
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import SendLog
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.model import Scenario

#: Client calls Temporal Cloud bills one action each (docs.temporal.io/evaluate/cloud/actions);
#: describe, list and history reads are free.
BILLABLE = ("start_workflow", "signal_workflow", "query_workflow", "start_workflow_update")


class Calls(Interceptor):
    """Counts the Temporal client calls made through a client built with it."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self.count)

    @property
    def billable(self) -> int:
        return sum(self.count[name] for name in BILLABLE)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, count: Counter[str]) -> None:
        super().__init__(next)
        for name in (*BILLABLE, "describe_workflow", "fetch_workflow_history_events"):
            setattr(self, name, self._counted(name, getattr(next, name)))
        self.count = count

    def _counted(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(input: Any) -> Any:
            self.count[name] += 1
            return call(input)

        return counted


def counting_client(client: Client) -> tuple[Client, Calls]:
    calls = Calls()
    config = client.config()
    config["interceptors"] = [calls]
    return Client(**config), calls


def run_of(scenario: Scenario, customer: str, cart: str) -> str:
    return workflow_id(scenario.id, f"customer-{customer_ref(customer)}/cart-{cart}")


async def start_run(
    client: Client,
    scenario: Scenario,
    customer: str,
    cart: str,
    *,
    task_queue: str,
    carried: Carried | None = None,
    execution_timeout: timedelta | None = None,
) -> WorkflowHandle[ScenarioWorkflow, Any]:
    """A ScenarioRun started as the router starts one (search attributes set at start)."""
    return await client.start_workflow(
        ScenarioWorkflow.run,
        RunInput(
            scenario,
            customer,
            f"customer-{customer_ref(customer)}/cart-{cart}",
            options=RunOptions(revision=REVISION),
            carried=carried,
        ),
        id=run_of(scenario, customer, cart),
        task_queue=task_queue,
        execution_timeout=execution_timeout,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search.SCENARIO, scenario.id),
                SearchAttributePair(search.VERSION, scenario.version),
                SearchAttributePair(search.CUSTOMER, customer_ref(customer)),
            ]
        ),
    )


async def failed_run(
    client: Client,
    scenario: Scenario,
    customer: str,
    cart: str,
    *,
    directory: ContactDirectory,
    send_log: SendLog,
) -> str:
    """A real ScenarioRun that fails: a worker that fails runs on a bug (``fail_fast``, as the
    simulator's) and a carried start time that does not parse, read when its cooldown starts.
    Returns the failure's message."""
    queue = f"fails-{uuid.uuid4()}"
    broken = replace(scenario, steps=[], trigger=replace(scenario.trigger, cooldown_s=60))
    trigger = EventSignal("cart_updated", f"ev-{cart}", customer, data={"cart": {"id": cart}})
    activities = Activities(directory=directory, send_log=send_log, channels={})
    async with build_worker(client, task_queue=queue, activities=activities, fail_fast=True):
        handle = await start_run(
            client,
            broken,
            customer,
            cart,
            task_queue=queue,
            carried=Carried(generation=1, trigger=trigger, started_at="not a time"),
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), timeout=30)
    return str(failed.value.cause)


@workflow.defn(name="OtherWorkflow", sandboxed=False)
class OtherWorkflow:
    """Another app's workflow in the same namespace: Omni neither reads nor signals it."""

    def __init__(self) -> None:
        self.signals = 0

    @workflow.signal(name="cancel")
    def cancel(self, _: Any) -> None:
        self.signals += 1

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.signals > 0)


@asynccontextmanager
async def foreign_workflow(
    client: Client, workflow_id: str
) -> AsyncIterator[WorkflowHandle[Any, Any]]:
    """OtherWorkflow started under ``workflow_id`` with its worker polling, until exit."""
    queue = f"other-app-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[OtherWorkflow]):
        handle = await client.start_workflow(OtherWorkflow.run, id=workflow_id, task_queue=queue)
        yield handle

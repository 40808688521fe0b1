"""How the simulator starts its run: as production does at the current revision (the router's
start request), or as recorded runs did at revision 0."""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.messages import EventSignal, RunInput, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.model import Scenario


async def start_run(
    env: WorkflowEnvironment,
    scenario: Scenario,
    key: str,
    trigger: EventSignal,
    wid: str,
    queue: str,
    options: RunOptions,
) -> WorkflowHandle[Any, RunState]:
    if options.revision >= 1:
        # The router's start request (steps only, templates by version, the trigger stored),
        # under the simulation's own workflow id.
        router = Router(
            env.client,
            {scenario.id: scenario},
            task_queue=queue,
            options=options,
            record_runs=False,
        )
        await router.definitions.publish(scenario)
        request = router.start_request(scenario, key, trigger)
        return await dataclasses.replace(
            request,
            workflow_id=wid,
            run_input=dataclasses.replace(request.run_input, options=options),
            start_delay=None,  # the simulated timeline starts at the trigger
        ).send(env.client)
    return await env.client.start_workflow(
        ScenarioWorkflow.run,
        RunInput(scenario=scenario, customer_id=trigger.customer_id, run_key=key, options=options),
        id=wid,
        task_queue=queue,
        start_signal="event",
        start_signal_args=[trigger],
    )

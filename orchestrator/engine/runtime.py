"""Assembling a worker: shared by the composition root (orchestrator.app), the simulator, the dev
stack and the tests."""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from orchestrator.engine.activities import Activities
from orchestrator.engine.learning import Learning
from orchestrator.engine.timing import SendTiming
from orchestrator.engine.workflow import ScenarioWorkflow

# Our dataclass modules are passed through the sandbox: re-importing them per run would
# multiply start-up cost and memory.
PASSTHROUGH = ("orchestrator", "channels", "jinja2", "markupsafe", "yaml")


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: Activities,
    learning: Learning | None = None,
    timing: SendTiming | None = None,
    max_cached_workflows: int = 1000,
    max_concurrent_activities: int = 100,
    fail_fast: bool = False,
) -> Worker:
    """fail_fast turns a workflow bug into a failed run instead of a retried task (simulator,
    tests); production keeps retrying so a fixed deploy can resume the run. Without
    ``learning``, ladders learn from no history (the written order) and arms are recorded in
    memory only; without ``timing``, sends held for their best time know no reactions (their
    fallback decides)."""
    learning = learning or Learning.beside(activities)
    timing = timing or SendTiming.beside(activities)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ScenarioWorkflow],
        activities=[
            activities.send,
            activities.evaluate,
            activities.stop_send,
            activities.log_skip,
            *learning.activities(),
            *timing.activities(),
        ],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
        workflow_failure_exception_types=[Exception] if fail_fast else [],
    )


def build_send_worker(
    client: Client,
    *,
    task_queue: str,
    activities: Activities,
    per_second: float | None = None,
    max_concurrent_activities: int = 100,
) -> Worker:
    """A worker for one channel's queue (OMNI_SEND_QUEUES): sends only. ``per_second`` is
    enforced by the server across every worker polling the queue, so a fleet of N workers
    still sends at the provider's rate; a send that waits for its turn costs no action."""
    return Worker(
        client,
        task_queue=task_queue,
        activities=[activities.send],
        max_concurrent_activities=max_concurrent_activities,
        max_task_queue_activities_per_second=per_second,
    )


async def queue_pollers(client: Client, queue: str, *, sends: bool = False) -> int:
    """How many workers poll ``queue`` (for workflow tasks, or with ``sends`` for activity
    tasks) in the client's namespace, as the server saw lately: one per worker identity."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
            if sends
            else TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len({p.identity for p in answer.pollers})

"""What the run's decisions from the learning activities (its arms, a ladder's learned order, a
rung's worth against its cost) have in common: the patch they are behind, their retries, and
what a failure means — a problem on the run, never its end."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.workflow.timeline import Timeline

#: Runs since this patch learn and run experiments; histories recorded before replay as they
#: ran. Checked only for scenarios that use the keys, so other runs record no marker.
PATCH = "omni-learning"
#: Statistics and costs are advice: after a few failed attempts the ladder goes as written.
ADVICE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
#: The arms must be recorded, or the console cannot count the run: keep trying for a while.
ASSIGN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
)
TIMEOUT = timedelta(seconds=30)


def advice_failed(timeline: Timeline, err: ActivityError, what: str, step: str) -> None:
    """A decision whose activity failed for good: noted as a problem, and the run goes on. One
    cancelled with the steps is their end: re-raised."""
    if isinstance(err.cause, CancelledError):
        raise err
    cause = getattr(err.cause, "type", None) or type(err.cause).__name__
    timeline.note("problem", step=step, reason=f"{what}: {cause}")

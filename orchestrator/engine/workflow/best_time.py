"""A send held for its best time (``at: best_time``): decided once by the ``best_time`` local
activity, then one timer until its moment. The ``Sender`` asks before every send; only a send
or rung that says ``at: best_time`` does anything, so runs of scenarios without it record
nothing new and their histories replay unchanged.

The hold is a wait like any other (``Clock``): a goal, exit or cancel meanwhile stops the
steps, and the run settles the send under way as ``stopped_by_…`` in the send log; in a
ladder a reaction to an earlier rung ends the hold, and the ladder, unsent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.workflow.advice import ADVICE_RETRY, TIMEOUT
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.generation import Generation
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.messages import RunInput
    from orchestrator.engine.timing import BestTimeRequest, BestTimeResult, SendTiming
    from orchestrator.language.model import BestTime as Hold
    from orchestrator.language.model import Step


def best_time_of(step: Step, path: str) -> Hold | None:
    """The ``at: best_time`` of the send at ``path``: the step's, or its rung's
    (``<step>.rung<n>``)."""
    if step.kind != "escalate":
        return step.best_time
    rung = path.rsplit(".rung", 1)[-1]
    if rung.isdigit() and 0 < int(rung) <= len(step.rungs):
        return step.rungs[int(rung) - 1].best_time
    return None


class BestTime:
    def __init__(self, inp: RunInput, gen: Generation, timeline: Timeline, clock: Clock) -> None:
        self._inp = inp
        self._gen = gen
        self._timeline = timeline
        self._clock = clock
        #: (generation, path) decided already: a ``first_of`` whose first channel was skipped
        #: goes on to the next at once, not after a second hold.
        self._decided: set[tuple[int, str]] = set()

    async def hold(
        self,
        step: Step,
        path: str,
        channels: list[str],
        key: str,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait for the send's best moment, if it has ``at: best_time``; False: ``stop``
        became true meanwhile (nothing is sent)."""
        best = best_time_of(step, path)
        mark = (self._gen.number, path)
        if best is None or mark in self._decided:
            return True
        self._decided.add(mark)
        inp, s = self._inp, self._inp.scenario
        self._clock.go_on()
        try:
            result: BestTimeResult = await workflow.execute_local_activity_method(
                SendTiming.best_time,
                BestTimeRequest(
                    key=key,
                    customer_id=inp.customer_id,
                    scenario=s.id,
                    step=path,
                    channels=channels,
                    now=workflow.now().isoformat(),
                    within_s=best.within_s,
                    fallback=best.fallback,
                    kinds=list(s.reaction),
                    quiet_hours=s.quiet_hours,
                    version=s.version,
                ),
                start_to_close_timeout=TIMEOUT,
                # Advice: after a few failed attempts the message goes at once.
                retry_policy=ADVICE_RETRY,
                summary=f"best time for {' or '.join(channels)}"[:200],
            )
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                raise
            cause = getattr(err.cause, "type", None) or type(err.cause).__name__
            reason = f"best time not decided ({cause}): sent now"
            self._timeline.note("problem", step=path, reason=reason)
            return True
        self._timeline.note("decision", step=path, channel=channels[0], reason=result.describe())
        if not result.held:
            return True
        self._timeline.show(
            f"holding {' or '.join(channels)} for {result.local} local: {result.reason}"
        )
        summary = f"hold for best time: {result.local} local"
        moment = datetime.fromisoformat(result.at)
        return not await self._clock.sleep_until(moment, stop, summary=summary)

"""Evaluating the scenario's expressions for a run: conditions (``when:``, ``if:``) in workflow
code where that is safe (revision 1, no contact data), everything else — times, local times,
conditions on the contact — in the local ``evaluate`` activity, recorded in history."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.generation import Generation, run_ref
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.activities import Activities
    from orchestrator.engine.evaluation import evaluate_inline, inline_ok
    from orchestrator.engine.messages import EvalRequest, EvalResult, EventSignal, RunInput


class Conditions:
    def __init__(self, inp: RunInput, gen: Generation, timeline: Timeline, clock: Clock) -> None:
        self._inp = inp
        self._gen = gen
        self._timeline = timeline
        self._clock = clock

    async def holds(
        self,
        condition: str | None,
        ev: EventSignal | None,
        trigger: EventSignal | None,
        what: str = "",
    ) -> bool:
        """Whether ``condition`` holds on event ``ev`` (None: the latest data). A condition
        that cannot be evaluated is false, and noted: as a problem for a goal or exit
        (``what``), as a skip otherwise."""
        if condition is None:
            return True
        result = await self.evaluate("condition", condition, ev, trigger=trigger)
        if result.error and what:
            # A goal or exit that cannot be evaluated on real data is not "not converted":
            # the run records a problem the console shows, and the worker logs a warning.
            event = ev.name if ev else ""
            step = self._timeline.step
            self._timeline.note("problem", step=step, event=event, reason=f"{what}: {result.error}")
            workflow.logger.warning(
                "%s condition of %s cannot be evaluated on event %s: %s",
                what,
                run_ref(),
                event,
                result.error,
            )
        elif result.error:
            self._timeline.note(
                "skip", step=self._timeline.step, reason=f"condition false: {result.error}"
            )
        return result.value

    async def evaluate(
        self,
        kind: str,
        expression: str,
        ev: EventSignal | None,
        *,
        trigger: EventSignal | None = None,
        offset_s: int = 0,
        clock: str = "",
        days: int = 0,
    ) -> EvalResult:
        """``kind``: condition, time (a moment plus ``offset_s``) or local (``clock`` on
        ``days`` in the customer's time zone)."""
        trig = trigger or self._gen.trigger
        engagement = self._gen.engagement()
        self._clock.go_on()
        latest = self._gen.latest
        if kind == "condition" and self._inp.options.revision >= 1 and inline_ok(expression):
            event = ev.data if ev else dict(latest)
            return evaluate_inline(expression, event, trig.data if trig else {}, engagement)
        return await workflow.execute_local_activity_method(
            Activities.evaluate,
            EvalRequest(
                kind=kind,
                expression=expression,
                customer_id=self._inp.customer_id,
                event=ev.data if ev else dict(latest),
                trigger=trig.data if trig else {},
                engagement=engagement,
                offset_s=offset_s,
                clock=clock,
                days=days,
                now=workflow.now().isoformat() if clock else "",
            ),
            start_to_close_timeout=timedelta(seconds=10),
            summary=f"evaluate {kind}: {expression}"[:200],
        )

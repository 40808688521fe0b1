"""A run's arms in the scenario's experiments: in the holdout or not, and the variant of each
``split`` step. Decided once per run chain, when a trigger has started it, by the ``assign``
activity (which records them for the console) or, if that fails for good, by the same stable
hash without the store; carried over continue-as-new."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from orchestrator.engine.workflow.advice import ASSIGN_RETRY, PATCH, TIMEOUT, advice_failed
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import experiments, labels
    from orchestrator.engine.learning import Learning
    from orchestrator.engine.learning_messages import AssignRequest
    from orchestrator.engine.messages import RunInput
    from orchestrator.language.model import DEFAULT_GOAL_WINDOW_S, Step, iter_steps


class Arms:
    def __init__(self, inp: RunInput, timeline: Timeline, clock: Clock) -> None:
        self._inp = inp
        self._timeline = timeline
        self._clock = clock
        carried = inp.carried
        #: This run is in the holdout: it waits and counts its goal, and sends nothing.
        self.held_out = carried.held_out if carried else False
        #: split step path -> the variant this run takes.
        self.variants: dict[str, str] = dict(carried.variants) if carried else {}
        #: The arms were decided (once per run chain).
        self.assigned = carried.assigned if carried else False

    async def assign(self) -> None:
        """Decide (and record) this run's arms, once, when a trigger has started it."""
        s = self._inp.scenario
        if self.assigned or not s.experiments() or not workflow.patched(PATCH):
            return
        splits = {
            st.path: [v.name for v in st.variants]
            for st in iter_steps(s.steps)
            if st.kind == "split"
        }
        request = AssignRequest(
            scenario=s.id,
            version=s.version,
            workflow_id=workflow.info().workflow_id,
            customer_id=self._inp.customer_id,
            holdout_pct=s.holdout_pct,
            splits=splits,
        )
        try:
            result = await workflow.execute_activity_method(
                Learning.assign,
                request,
                start_to_close_timeout=TIMEOUT,
                retry_policy=ASSIGN_RETRY,
                summary="assign holdout and variants",
            )
            held, variants, text = result.held_out, result.variants, result.description
        except ActivityError as err:
            # The hash decides alike without the store; only the console's count misses it.
            advice_failed(self._timeline, err, "arms not recorded", "")
            found = experiments.assign(s.id, self._inp.customer_id, s.holdout_pct, splits)
            held, variants, text = found.held_out, found.variants, found.describe(s.holdout_pct)
        self.held_out, self.variants, self.assigned = held, variants, True
        self._timeline.note("decision", reason=text)

    def variant_steps(self, step: Step) -> list[Step]:
        """The steps of the variant this run takes at ``split`` step ``step``."""
        names = [v.name for v in step.variants]
        name = self.variants.get(step.path) or experiments.variant(
            self._inp.scenario.id, step.path, self._inp.customer_id, names
        )
        return next(v.steps for v in step.variants if v.name == name)

    async def measured(self, start: datetime, outcome: str) -> str:
        """The outcome of steps that began at ``start``, after (in a holdout or split) the rest
        of the goal window: every arm counts its goal over the same time from its trigger,
        whatever its steps did."""
        if not self.assigned:
            return outcome
        window = self._inp.scenario.goal_window_s or DEFAULT_GOAL_WINDOW_S
        left = (start + timedelta(seconds=window) - workflow.now()).total_seconds()
        if left > 0:
            self._timeline.show(f"counting the goal for {labels.duration(left)} more", next_="")
            await self._clock.sleep_until(
                workflow.now() + timedelta(seconds=left), summary="goal window"
            )
        # Held out, it sent nothing; a reply to another scenario's message may still have
        # stopped its ladder ("reacted"), which says nothing about this scenario.
        return "held_out" if self.held_out and not outcome.startswith("stopped") else outcome

"""What a run learns before it sends: the order of a ``order: learned`` ladder and whether a
costed rung is worth its cost. Advice, not a condition of sending: when the ``rank_channels``
or ``judge_rung`` activity (``engine/learning.py``) fails, the ladder goes as written.

Each decision is an activity, recorded in history, so a replay decides the same; each is only
asked for scenarios that use the keys, behind ``workflow.patched(advice.PATCH)``: histories
recorded before it replay unchanged."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from orchestrator.engine.workflow.advice import ADVICE_RETRY, PATCH, TIMEOUT, advice_failed
from orchestrator.engine.workflow.arms import Arms
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.generation import Generation, run_ref
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.learning import Learning
    from orchestrator.engine.learning_messages import RankRequest, RungCheck
    from orchestrator.engine.messages import RunInput
    from orchestrator.language.model import Rung, Step


class Learner:
    def __init__(
        self,
        inp: RunInput,
        gen: Generation,
        arms: Arms,
        timeline: Timeline,
        clock: Clock,
    ) -> None:
        self._inp = inp
        self._gen = gen
        self._arms = arms
        self._timeline = timeline
        self._clock = clock

    async def order(self, step: Step) -> list[tuple[int, Rung]]:
        """The ladder's rungs (with their written index) in the order to try them."""
        rungs = list(enumerate(step.rungs))
        if step.order != "learned" or self._arms.held_out or not workflow.patched(PATCH):
            return rungs
        self._clock.go_on()
        try:
            result = await workflow.execute_activity_method(
                Learning.rank_channels,
                RankRequest(
                    customer_id=self._inp.customer_id,
                    channels=[r.channel for r in step.rungs],
                    kinds=list(self._inp.scenario.reaction),
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=ADVICE_RETRY,
                summary="rank channels for this customer",
            )
        except ActivityError as err:
            advice_failed(
                self._timeline, err, "learned order unavailable, sending as written", step.path
            )
            return rungs
        self._timeline.note("decision", step=step.path, reason=f"order: {result.explanation}")
        return [rungs[i] for i in result.order]

    async def too_costly(self, step: Step, rung: Rung, path: str) -> bool:
        """Weigh a costed rung; True: skipped (recorded with its numbers)."""
        cost = step.costs.get(rung.channel)
        if cost is None or not step.value or self._arms.held_out or self._clock.late:
            return False
        if not workflow.patched(PATCH):
            return False
        s, trigger = self._inp.scenario, self._gen.trigger
        assert trigger is not None
        key = self._gen.send_key(path, rung.channel)
        self._clock.go_on()
        try:
            verdict = await workflow.execute_activity_method(
                Learning.judge_rung,
                RungCheck(
                    key=key,
                    scenario=s.id,
                    category=s.category,
                    step=path,
                    channel=rung.channel,
                    template=rung.template,
                    sources=s.templates.get(f"{rung.template}/{rung.channel}", {}),
                    customer_id=self._inp.customer_id,
                    now=workflow.now().isoformat(),
                    run={"id": workflow.info().workflow_id, "scenario": s.id, "step": path},
                    trigger=trigger.data,
                    event=self._gen.latest,
                    cost=cost,
                    value=step.value,
                    kinds=list(s.reaction),
                    run_ref=run_ref(),
                    version=s.version,
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=ADVICE_RETRY,
                summary=f"weigh {rung.channel} against its cost",
            )
        except ActivityError as err:
            advice_failed(self._timeline, err, "cost not weighed, sending", path)
            return False
        if verdict.problem:
            self._timeline.note("problem", step=path, channel=rung.channel, reason=verdict.problem)
            return False
        if verdict.skip:
            self._timeline.note(
                "skip",
                step=path,
                channel=rung.channel,
                template=rung.template,
                status="skipped",
                reason=verdict.reason,
            )
            return True
        self._timeline.note("decision", step=path, channel=rung.channel, reason=verdict.reason)
        return False

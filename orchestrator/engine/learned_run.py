"""The run's side of learning and experiments: a learned ladder order, costed rungs, holdout,
split variants and the goal window. Deterministic like all workflow code: every decision comes
from an activity (``learning.Learning``), recorded in history, so a replay decides the same.

Each new behaviour only runs for scenarios that use the new keys, and behind
``workflow.patched(PATCH)``: histories recorded before it replay unchanged.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.run_base import RunBase

#: Runs since this patch record the sends they skip as too late in the send log.
SKIPS_LOGGED = "omni-skips-in-send-log"

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import experiments, labels
    from orchestrator.engine.activities import Activities
    from orchestrator.engine.learning import Learning
    from orchestrator.engine.learning_messages import AssignRequest, RankRequest, RungCheck
    from orchestrator.engine.messages import Carried, SendResult, SendStop
    from orchestrator.language.model import DEFAULT_GOAL_WINDOW_S, Rung, Step, iter_steps

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


class LearnedRun(RunBase):
    def __init__(self) -> None:
        super().__init__()
        #: This run is in the holdout: it waits and counts its goal, and sends nothing.
        self._held_out = False
        #: split step path -> the variant this run takes.
        self._variants: dict[str, str] = {}
        #: The arms were decided (once per run chain; carried over continue-as-new).
        self._assigned = False

    def _restore_arms(self, carried: Carried) -> None:
        self._held_out, self._assigned = carried.held_out, carried.assigned
        self._variants = dict(carried.variants)

    def _advice_failed(self, err: ActivityError, what: str, step: str) -> None:
        if isinstance(err.cause, CancelledError):
            raise err
        cause = getattr(err.cause, "type", None) or type(err.cause).__name__
        self._note("problem", step=step, reason=f"{what}: {cause}")

    # -- holdout and splits ----------------------------------------------------------------
    async def _assign_arms(self) -> None:
        """Decide (and record) this run's arms, once, when a trigger has started it."""
        s = self._scenario
        if self._assigned or not s.experiments() or not workflow.patched(PATCH):
            return
        assert self._input is not None
        splits = {
            st.path: [v.name for v in st.variants]
            for st in iter_steps(s.steps)
            if st.kind == "split"
        }
        request = AssignRequest(
            scenario=s.id,
            version=s.version,
            workflow_id=workflow.info().workflow_id,
            customer_id=self._input.customer_id,
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
            self._advice_failed(err, "arms not recorded", "")
            found = experiments.assign(s.id, self._input.customer_id, s.holdout_pct, splits)
            held, variants, text = found.held_out, found.variants, found.describe(s.holdout_pct)
        self._held_out, self._variants, self._assigned = held, variants, True
        self._note("decision", reason=text)

    def _variant_steps(self, step: Step) -> list[Step]:
        assert self._input is not None
        names = [v.name for v in step.variants]
        name = self._variants.get(step.path) or experiments.variant(
            self._scenario.id, step.path, self._input.customer_id, names
        )
        return next(v.steps for v in step.variants if v.name == name)

    def _hold_back(self, path: str, channel: str, template: str) -> SendResult:
        # Not in the send log: a held-out run leaves no trace there (its arm counts it).
        reason = "holdout: this customer is held out, so nothing is sent"
        self._skip(path, channel, template, reason)
        return SendResult("skipped", reason="holdout")

    async def _log_skip(self, path: str, channel: str, template: str, reason: str) -> None:
        """A send the run skips by itself (too late) goes to the send log like every
        other fate, so the console and /metrics count it. Patched: older runs kept such skips
        in their timeline only, and their histories replay without this local activity."""
        if not workflow.patched(SKIPS_LOGGED):
            return
        assert self._input is not None
        await workflow.execute_local_activity_method(
            Activities.log_skip,
            SendStop(
                key=f"{self._run_ref()}/g{self._generation}/{path}/{channel}",
                customer_id=self._input.customer_id,
                scenario=self._scenario.id,
                step=path,
                channel=channel,
                template=template,
                now=workflow.now().isoformat(),
                reason=reason,
                run_ref="" if self._revision >= 1 else self._run_ref(),
                version=self._scenario.version,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"skip {channel}: {template} ({reason.split(':', 1)[0]})"[:200],
        )

    async def _measured(self, steps: list[Step]) -> str:
        """The steps, then (in a holdout or split) the rest of the goal window: every arm
        counts its goal over the same time from its trigger, whatever its steps did."""
        start = workflow.now()
        outcome: str = await self._run_steps(steps)  # type: ignore[attr-defined]
        if not self._assigned:
            return outcome
        window = self._scenario.goal_window_s or DEFAULT_GOAL_WINDOW_S
        left = (start + timedelta(seconds=window) - workflow.now()).total_seconds()
        if left > 0:
            self._show(f"counting the goal for {labels.duration(left)} more", next_="")
            await self._sleep_until(workflow.now() + timedelta(seconds=left), summary="goal window")
        # Held out, it sent nothing; a reply to another scenario's message may still have
        # stopped its ladder ("reacted"), which says nothing about this scenario.
        return "held_out" if self._held_out and not outcome.startswith("stopped") else outcome

    # -- ladders ---------------------------------------------------------------------------
    async def _ladder(self, step: Step) -> list[tuple[int, Rung]]:
        """The rungs (with their written index) in the order to try them."""
        rungs = list(enumerate(step.rungs))
        if step.order != "learned" or self._held_out or not workflow.patched(PATCH):
            return rungs
        assert self._input is not None
        self._go_on()
        try:
            result = await workflow.execute_activity_method(
                Learning.rank_channels,
                RankRequest(
                    customer_id=self._input.customer_id,
                    channels=[r.channel for r in step.rungs],
                    kinds=list(self._scenario.reaction),
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=ADVICE_RETRY,
                summary="rank channels for this customer",
            )
        except ActivityError as err:
            self._advice_failed(err, "learned order unavailable, sending as written", step.path)
            return rungs
        self._note("decision", step=step.path, reason=f"order: {result.explanation}")
        return [rungs[i] for i in result.order]

    async def _too_costly(self, step: Step, rung: Rung, path: str) -> bool:
        """Weigh a costed rung; True: skipped (recorded with its numbers)."""
        cost = step.costs.get(rung.channel)
        if cost is None or not step.value or self._held_out or self._late:
            return False
        if not workflow.patched(PATCH):
            return False
        s, inp = self._scenario, self._input
        assert inp is not None and self._trigger is not None
        run_ref = self._run_ref()
        self._go_on()
        try:
            verdict = await workflow.execute_activity_method(
                Learning.judge_rung,
                RungCheck(
                    key=f"{run_ref}/g{self._generation}/{path}/{rung.channel}",
                    scenario=s.id,
                    category=s.category,
                    step=path,
                    channel=rung.channel,
                    template=rung.template,
                    sources=s.templates.get(f"{rung.template}/{rung.channel}", {}),
                    customer_id=inp.customer_id,
                    now=workflow.now().isoformat(),
                    run={"id": workflow.info().workflow_id, "scenario": s.id, "step": path},
                    trigger=self._trigger.data,
                    event=self._latest,
                    cost=cost,
                    value=step.value,
                    kinds=list(s.reaction),
                    run_ref=run_ref,
                    version=s.version,
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=ADVICE_RETRY,
                summary=f"weigh {rung.channel} against its cost",
            )
        except ActivityError as err:
            self._advice_failed(err, "cost not weighed, sending", path)
            return False
        if verdict.problem:
            self._note("problem", step=path, channel=rung.channel, reason=verdict.problem)
            return False
        if verdict.skip:
            self._note(
                "skip",
                step=path,
                channel=rung.channel,
                template=rung.template,
                status="skipped",
                reason=verdict.reason,
            )
            return True
        self._note("decision", step=path, channel=rung.channel, reason=verdict.reason)
        return False

"""An ``escalate`` step: one channel after another (in the written or the learned order),
each rung waiting for a reaction before the next; a reaction of the scenario's kinds stops the
ladder wherever it is, a held send included."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from orchestrator.engine.workflow.arms import Arms
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.generation import Generation
from orchestrator.engine.workflow.learner import Learner
from orchestrator.engine.workflow.sender import Sender
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels, search
    from orchestrator.engine.messages import RunInput
    from orchestrator.language.model import Step

#: Runs since this patch show each rung in ``OmniStep`` (revision 0 only).
RUNG_LABELS = "omni-rung-labels"


class Ladder:
    def __init__(
        self,
        inp: RunInput,
        gen: Generation,
        arms: Arms,
        learner: Learner,
        sender: Sender,
        timeline: Timeline,
        clock: Clock,
    ) -> None:
        self._inp = inp
        self._gen = gen
        self._arms = arms
        self._learner = learner
        self._sender = sender
        self._timeline = timeline
        self._clock = clock
        #: The last ladder ran out without a reaction (the outcome is then ``exhausted``).
        self.exhausted = False

    async def climb(self, step: Step) -> None:
        """Send each rung in turn, waiting after each for a reaction, until one comes or the
        rungs run out (``exhausted``)."""
        kinds, start, gen = self._inp.scenario.reaction, self._gen.seq, self._gen

        def reacted() -> bool:
            return gen.reacted(kinds, since=start)

        self.exhausted = False
        rungs = await self._learner.order(step)  # as written, or learned (order: learned)
        for pos, (i, rung) in enumerate(rungs):
            if reacted():
                return
            path = f"{step.path}.rung{i + 1}"
            if self._inp.options.revision < 1 and workflow.patched(RUNG_LABELS):
                # One more search attribute update per rung; older histories did without.
                self._timeline.index(search.STEP.value_set(labels.rung_label(pos, rung.channel)))
            later = [labels.rung_name(step, j) for j, _ in rungs[pos + 1 :]]
            after = later[0] if later else self._timeline.next_label
            name = labels.rung_name(step, i)
            self._timeline.show(f"{name}: sending", next_=after)
            if await self._learner.too_costly(step, rung, path):
                continue
            result = await self._sender.deliver(step, rung.channel, rung.template, path, reacted)
            if result is None:
                return  # a reaction came while the send was held
            # Held out, nothing went, yet the rung waits as a treated run's would: both arms'
            # steps keep the same times.
            if (result.status == "sent" or self._arms.held_out) and rung.wait_s:
                self._timeline.next_wakeup = (
                    workflow.now() + timedelta(seconds=rung.wait_s)
                ).isoformat()
                wait = labels.spoken_duration(rung.wait_s)
                self._timeline.show(
                    f"{name}: waiting up to {wait} for a reaction to `{rung.template}`",
                    next_=after,
                )
                summary = labels.reaction_wait(rung.wait_s, name)
                await self._clock.wait(reacted, rung.wait_s, summary)
                self._timeline.next_wakeup = ""
        self.exhausted = not reacted()

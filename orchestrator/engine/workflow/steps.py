"""How a run walks a scenario's steps: each step kind to the collaborator that does it — waits
to the ``Clock``, sends to the ``Sender``, ladders to the ``Ladder``, digests to the
``Collector``, splits to the ``Arms``, conditions to ``Conditions`` — and the steps' outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from orchestrator.engine.workflow.arms import Arms
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.conditions import Conditions
from orchestrator.engine.workflow.digest import Collector, NothingCollected
from orchestrator.engine.workflow.generation import Generation
from orchestrator.engine.workflow.ladder import Ladder
from orchestrator.engine.workflow.sender import Sender
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels, search
    from orchestrator.engine.messages import EventSignal, RunInput
    from orchestrator.language.model import EventMatch, Step


class _Stop(Exception):
    """A ``stop`` step: ends the steps with its reason."""


class Steps:
    def __init__(
        self,
        inp: RunInput,
        gen: Generation,
        timeline: Timeline,
        clock: Clock,
        conditions: Conditions,
        arms: Arms,
        sender: Sender,
        ladder: Ladder,
        collector: Collector,
    ) -> None:
        self._inp = inp
        self._gen = gen
        self._timeline = timeline
        self._clock = clock
        self._conditions = conditions
        self._arms = arms
        self._sender = sender
        self._ladder = ladder
        self._collector = collector

    async def run(self, steps: list[Step]) -> str:
        """Walk ``steps``; the outcome: ``stopped: <reason>``, reacted, nothing_sent,
        exhausted (the last ladder ran out) or completed."""
        try:
            await self._walk(steps)
        except (_Stop, NothingCollected) as stop:
            return f"stopped: {stop}"
        if self._gen.reacted(self._inp.scenario.reaction):
            return "reacted"
        if self._timeline.sent == 0:
            return "nothing_sent"
        return "exhausted" if self._ladder.exhausted else "completed"

    async def _walk(self, steps: list[Step]) -> None:
        timeline = self._timeline
        for i, step in enumerate(steps):
            self._clock.go_on()
            timeline.step = step.path
            name = labels.step_name(step)
            timeline.next_label = labels.step_name(steps[i + 1]) if i + 1 < len(steps) else ""
            if self._inp.options.revision < 1:
                # OmniStep reads like the step ("wait 1h", "ladder: email → push"). Revision 1
                # shows it in the current details only: each upsert is a billable action.
                timeline.index(search.STEP.value_set(labels.step_label(step)))
            timeline.show(name)
            await self._one(step)

    async def _one(self, step: Step) -> None:
        if step.kind == "wait":
            self._clock.late = False
            name = labels.step_name(step)
            self._timeline.show(f"{name}: waiting")
            await self._clock.sleep_until(
                workflow.now() + timedelta(seconds=step.wait_s or 0), summary=name
            )
        elif step.kind == "wait_until":
            await self._wait_until(step)
        elif step.kind == "send":
            await self._send_first_of(step)
        elif step.kind == "escalate":
            await self._ladder.climb(step)
        elif step.kind == "if":
            holds = await self._conditions.holds(step.condition, None, None)
            await self._walk(step.then if holds else step.otherwise)
        elif step.kind == "wait_for":
            await self._wait_for(step)
        elif step.kind == "split":
            await self._walk(self._arms.variant_steps(step))
        elif step.kind == "stop":
            raise _Stop(step.reason or "stopped")
        elif step.kind == "collect":
            await self._collector.collect(step)

    async def _wait_until(self, step: Step) -> None:
        clock, timeline = self._clock, self._timeline
        if step.at_time:
            result = await self._conditions.evaluate(
                "local", step.at or "", None, clock=step.at_time, days=step.at_days
            )
        else:
            assert step.at is not None
            result = await self._conditions.evaluate(
                "time", step.at, None, offset_s=step.at_offset_s
            )
        if result.error:
            clock.late = True
            timeline.note("skip", step=step.path, reason=f"wait_until: {result.error}")
            return
        moment = datetime.fromisoformat(result.at)
        if moment <= workflow.now():
            clock.late = step.late == "skip"
            timeline.note("skip", step=step.path, reason=f"moment already passed ({result.at})")
            return
        clock.late = False
        name = labels.step_name(step)
        timeline.show(f"{name}: waiting until {result.at}")
        await clock.sleep_until(moment, summary=name)

    async def _wait_for(self, step: Step) -> None:
        gen, timeline = self._gen, self._timeline
        self._clock.late = False
        checked = gen.seq
        deadline = workflow.now() + timedelta(seconds=step.timeout_s or 0)
        timeline.next_wakeup = deadline.isoformat()
        label = labels.step_name(step)
        timeline.show(f"{label}: waiting")
        while True:
            remaining = (deadline - workflow.now()).total_seconds()
            came = await self._clock.wait(
                gen.heard_after(checked),
                max(remaining, 0.001),
                label,
            )
            if not came:
                timeline.next_wakeup = ""
                await self._walk(step.on_timeout)
                return
            fresh = gen.since(checked)
            checked = gen.seq
            for ev in fresh:
                if await self._matches(step.events, ev):
                    timeline.next_wakeup = ""
                    gen.latest = ev.data
                    await self._walk(step.on_event)
                    return

    async def _matches(self, matches: list[EventMatch], ev: EventSignal) -> bool:
        for match in matches:
            if match.event == ev.name and await self._conditions.holds(
                match.when, ev, self._gen.trigger
            ):
                return True
        return False

    async def _send_first_of(self, step: Step) -> None:
        assert step.template is not None
        for channel in step.channels:
            result = await self._sender.deliver(step, channel, step.template, step.path)
            if result is not None and result.status == "sent":
                return

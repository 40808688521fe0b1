"""The one generic workflow that interprets any scenario: its handlers (the ``event`` and
``cancel`` signals, the ``state`` query), its life (waiting for the trigger, restarts,
continue-as-new, the cooldown) and how it ends while work is under way (``_stop_steps``). What
a run does in between belongs to the collaborators it is made of (see ``__init__``).

Deterministic by construction: no I/O, no clock but workflow.now(), no Jinja2. Conditions and
times are evaluated in a local activity (recorded in history); sends are activities.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.workflow.arms import Arms
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.conditions import Conditions
from orchestrator.engine.workflow.digest import Collector
from orchestrator.engine.workflow.generation import Generation
from orchestrator.engine.workflow.inbox import Inbox
from orchestrator.engine.workflow.ladder import Ladder
from orchestrator.engine.workflow.learner import Learner
from orchestrator.engine.workflow.sender import Sender
from orchestrator.engine.workflow.steps import Steps
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import search
    from orchestrator.engine.ids import customer_ref
    from orchestrator.engine.messages import (
        CancelRun,
        Carried,
        EventSignal,
        RunInput,
        RunState,
    )
    from orchestrator.language.model import REACTION_EVENTS

STOP_PATCH = "omni-stop-steps"
#: Events ignored during a cooldown that the timeline records (later ones are only dropped).
COOLDOWN_NOTES_KEPT = 20


@workflow.defn(name="ScenarioRun")
class ScenarioWorkflow:
    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        # Built before any handler runs: the start signal is delivered before run() begins.
        self._input = inp
        carried = inp.carried
        self._inbox = Inbox(carried)
        self._gen = (
            Generation(carried.generation, carried.trigger) if carried else Generation(0, None)
        )
        self._timeline = Timeline(inp)
        self._clock = Clock(self._timeline)
        self._conditions = Conditions(inp, self._gen, self._timeline, self._clock)
        self._arms = Arms(inp, self._timeline, self._clock)
        self._collector = Collector(
            inp.scenario, self._gen, self._inbox, self._timeline, self._clock
        )
        self._sender = Sender(
            inp, self._gen, self._arms, self._collector, self._timeline, self._clock
        )
        learner = Learner(inp, self._gen, self._arms, self._timeline, self._clock)
        self._ladder = Ladder(
            inp, self._gen, self._arms, learner, self._sender, self._timeline, self._clock
        )
        self._steps = Steps(
            inp,
            self._gen,
            self._timeline,
            self._clock,
            self._conditions,
            self._arms,
            self._sender,
            self._ladder,
            self._collector,
        )
        #: Set by the ``cancel`` signal: the run ends with outcome "cancelled".
        self._cancel_reason = ""

    # -- handlers --------------------------------------------------------------------------
    @workflow.signal(name="event")
    def event(self, ev: EventSignal) -> None:
        # A run belongs to one customer: another customer's event never enters it.
        if ev.customer_id and ev.customer_id != self._input.customer_id:
            self._timeline.note("skip", reason="dropped: an event of another customer")
            return
        self._inbox.put(ev)

    @workflow.signal(name="cancel")
    def cancel(self, request: CancelRun) -> None:
        """End the run at once (no further sends), recording who asked and why."""
        self._cancel_reason = request.reason or "cancelled"

    @workflow.query(name="state")
    def state(self) -> RunState:
        inp, timeline = self._input, self._timeline
        return RunState(
            scenario=inp.scenario.id,
            version=inp.scenario.version,
            customer_id=inp.customer_id,
            run_key=inp.run_key,
            generation=self._gen.number,
            current_step=timeline.step,
            next_wakeup=timeline.next_wakeup,
            outcome=timeline.outcome,
            engagement=self._gen.engagement(),
            messages=timeline.messages(),
            timeline=list(timeline.entries),
            started_at=timeline.started_at,
        )

    # -- main loop -------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: RunInput) -> RunState:
        final = await self._run(inp)
        if inp.options.revision >= 1:
            # The result is history too: each message once (in ``messages``), not twice. The
            # ``state`` query keeps the whole timeline.
            final.timeline = [e for e in final.timeline if e not in final.messages]
        return final

    async def _run(self, inp: RunInput) -> RunState:
        s, gen, inbox, timeline = inp.scenario, self._gen, self._inbox, self._timeline
        restarts = 0
        if inp.carried is None:
            timeline.started_at = workflow.now().isoformat()
            if inp.options.revision < 1:  # later revisions: set at start by the router (free)
                timeline.index(
                    search.SCENARIO.value_set(s.id),
                    search.VERSION.value_set(s.version),
                    search.CUSTOMER.value_set(customer_ref(inp.customer_id)),
                )
            timeline.show("waiting for the trigger event", next_="")
            await workflow.wait_condition(lambda: bool(inbox))
            first = inbox.pop()
            timeline.note("event", event=first.name, event_id=first.event_id)
            if first.name != s.trigger.event or not await self._conditions.holds(
                s.trigger.when, first, first
            ):
                return self._finish("not_triggered")
            gen.trigger = first
            await self._arms.assign()  # holdout and split scenarios only
        while True:
            assert gen.trigger is not None
            gen.latest = gen.trigger.data
            steps = asyncio.create_task(self._measured())

            def woken(task: asyncio.Task[str] = steps) -> bool:
                return bool(inbox) or task.done() or bool(self._cancel_reason)

            while True:
                await workflow.wait_condition(woken)
                if self._cancel_reason:
                    await self._stop_steps(steps, "cancelled")
                    timeline.note("skip", reason=f"cancelled: {self._cancel_reason}")
                    return self._finish("cancelled")
                if not inbox:
                    if not self._next_digest():  # scenarios with a collect step only
                        return await self._cool_down(self._finish(steps.result()))
                    break
                action = await self._handle(inbox.pop())
                if action is None:
                    continue
                await self._stop_steps(steps, action)
                if action != "restart":
                    return await self._cool_down(self._finish(action))
                break
            # Restart: the new trigger begins the waits again, with fresh reactions.
            gen.restart()
            restarts += 1
            self._ladder.exhausted = False
            self._collector.restart()
            if (
                restarts >= inp.options.max_restarts
                or workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried_over(inp))

    async def _measured(self) -> str:
        """The steps, then (in a holdout or split) the rest of the goal window."""
        start = workflow.now()
        outcome = await self._steps.run(self._input.scenario.steps)
        return await self._arms.measured(start, outcome)

    def _carried_over(self, inp: RunInput) -> RunInput:
        assert self._gen.trigger is not None
        keep = inp.options.keep_timeline
        return RunInput(
            scenario=inp.scenario,
            customer_id=inp.customer_id,
            run_key=inp.run_key,
            options=inp.options,
            carried=Carried(
                generation=self._gen.number,
                trigger=self._gen.trigger,
                seen_event_ids=self._inbox.seen,
                timeline=self._timeline.entries[-keep:],
                pending=self._inbox.pending,
                started_at=self._timeline.started_at,
                sent=self._timeline.sent,
                held_out=self._arms.held_out,
                variants=self._arms.variants,
                assigned=self._arms.assigned,
            ),
        )

    async def _stop_steps(self, steps: asyncio.Task[str], why: str) -> None:
        """Stop the steps wherever they are — a send scheduled, in the adapter, retrying or
        deferred; a decision; a wait — and give the send under way its fate.

        The steps' activities are cancelled (TRY_CANCEL: the run does not wait for the
        worker). What decides the send's fate is the send log: ``stop_send`` and the
        adapter's handover are one atomic step there, so the send was either handed to the
        provider before this moment (``sent``) or never will be (``stopped_by_<why>``)."""
        # Patched: a run that saw its ending event before this change went on with its steps
        # where an activity answered in the same activation; its history replays that way.
        self._clock.stopping = workflow.patched(STOP_PATCH)
        steps.cancel()
        try:
            await steps
        except asyncio.CancelledError:
            pass
        except ActivityError as err:
            # An activity cancelled with the steps: how Temporal ends an awaited activity.
            if not isinstance(err.cause, CancelledError):
                raise
        # Read after the steps stopped: an answer that came with the event was recorded.
        settle, self._clock.stopping = self._clock.stopping, False  # a restart's steps go on
        if settle:
            await self._sender.settle(why)
        else:
            self._sender.pending = None  # runs before the patch left the send's fate open

    async def _handle(self, ev: EventSignal) -> str | None:
        """Route one event; returns an outcome that ends the run, "restart", or None."""
        s, gen, holds = self._input.scenario, self._gen, self._conditions.holds
        gen.seq += 1
        self._timeline.note("event", event=ev.name, event_id=ev.event_id)
        if ev.name in REACTION_EVENTS:
            gen.reactions.append((gen.seq, REACTION_EVENTS[ev.name]))
            gen.events.append((gen.seq, ev))  # a wait_for may be waiting for a click
            return None
        assert gen.trigger is not None
        for match in s.goals:
            if match.event == ev.name and await holds(match.when, ev, gen.trigger, "goal"):
                return "converted"
        for match in s.exits:
            if match.event == ev.name and await holds(match.when, ev, gen.trigger, "exit"):
                return "exited"
        if ev.name == s.trigger.event and s.trigger.again != "signal":
            if s.trigger.again == "restart" and await holds(s.trigger.when, ev, ev):
                gen.trigger = ev
                return "restart"
            self._timeline.entries[-1].reason = "ignored: run already in progress"
            return None
        gen.events.append((gen.seq, ev))
        return None

    def _next_digest(self) -> bool:
        """Events a digest window missed start the next digest in this run: the first is its
        trigger, the others wait in the inbox. False when there are none."""
        missed = self._collector.missed()
        if not missed:
            return False
        self._gen.trigger = missed[0]
        self._inbox.put_back(missed[1:])
        self._timeline.note(
            "event", event=missed[0].name, event_id=missed[0].event_id, reason="next digest"
        )
        return True

    async def _cool_down(self, final: RunState) -> RunState:
        """With ``trigger.cooldown``, the finished run stays open until the cooldown (from its
        start) ends: the router's signal-with-start reaches this run, which ignores the event,
        so no second run starts for this customer and key. Durable: a Temporal timer."""
        cooldown = self._input.scenario.trigger.cooldown_s
        if not cooldown:
            return final
        inbox = self._inbox
        until = datetime.fromisoformat(self._timeline.started_at) + timedelta(seconds=cooldown)
        noted = 0
        while (left := (until - workflow.now()).total_seconds()) > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(lambda: bool(inbox), timeout=left)
            while inbox:
                ev = inbox.pop()
                if noted < COOLDOWN_NOTES_KEPT:
                    noted += 1
                    reason = f"ignored: cooldown until {until.isoformat()}"
                    self._timeline.note("event", event=ev.name, event_id=ev.event_id, reason=reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _finish(self, outcome: str) -> RunState:
        timeline = self._timeline
        timeline.outcome = outcome
        timeline.step = ""
        timeline.next_wakeup = ""
        timeline.note("exit", reason=outcome)
        timeline.show(f"finished: {outcome}", next_="")
        timeline.index(search.OUTCOME.value_set(outcome))
        return self.state()

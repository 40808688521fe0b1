"""The one generic workflow that interprets any scenario.

Deterministic by construction: no I/O, no clock but workflow.now(), no Jinja2. Conditions and
times are evaluated in a local activity (recorded in history); sends are activities.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.interpreter import StepInterpreter

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import search
    from orchestrator.engine.activities import Activities
    from orchestrator.engine.ids import customer_ref
    from orchestrator.engine.messages import (
        CancelRun,
        Carried,
        EventSignal,
        RunInput,
        RunState,
        SendStop,
    )
    from orchestrator.language.model import REACTION_EVENTS

SEEN_IDS_KEPT = 500
STOP_PATCH = "omni-stop-steps"
#: The fate of a send under way when its run ends, by what ended it.
STOPPED_BY = {
    "converted": "stopped_by_goal",
    "exited": "stopped_by_exit",
    "cancelled": "stopped_by_cancel",
    "restart": "stopped_by_restart",
}
#: Events ignored during a cooldown that the timeline records (later ones are only dropped).
COOLDOWN_NOTES_KEPT = 20


@workflow.defn(name="ScenarioRun")
class ScenarioWorkflow(StepInterpreter):
    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        super().__init__()
        # Set before any handler runs: the start signal is delivered before run() begins.
        self._input = inp
        if inp.carried is not None:
            c = inp.carried
            self._generation, self._trigger = c.generation, c.trigger
            self._seen, self._seen_set = list(c.seen_event_ids), set(c.seen_event_ids)
            self._timeline, self._inbox = list(c.timeline), list(c.pending)
            self._started_at = c.started_at
            self._sent = c.sent
            self._restore_arms(c)

    # -- handlers --------------------------------------------------------------------------
    @workflow.signal(name="event")
    def event(self, ev: EventSignal) -> None:
        assert self._input is not None
        # A run belongs to one customer: another customer's event never enters it.
        if ev.customer_id and ev.customer_id != self._input.customer_id:
            self._note("skip", reason="dropped: an event of another customer")
            return
        # Delivery is at least once: a redelivered event id is dropped here.
        if ev.event_id in self._seen_set:
            return
        self._seen.append(ev.event_id)
        self._seen_set.add(ev.event_id)
        if len(self._seen) > SEEN_IDS_KEPT:
            self._seen_set.discard(self._seen.pop(0))
        self._inbox.append(ev)

    @workflow.signal(name="cancel")
    def cancel(self, request: CancelRun) -> None:
        """End the run at once (no further sends), recording who asked and why."""
        self._cancel_reason = request.reason or "cancelled"

    @workflow.query(name="state")
    def state(self) -> RunState:
        inp = self._input
        assert inp is not None
        return RunState(
            scenario=inp.scenario.id,
            version=inp.scenario.version,
            customer_id=inp.customer_id,
            run_key=inp.run_key,
            generation=self._generation,
            current_step=self._step,
            next_wakeup=self._next_wakeup,
            outcome=self._outcome,
            engagement={
                k: any(r == k for _, r in self._reactions) for k in REACTION_EVENTS.values()
            },
            messages=[e for e in self._timeline if e.kind in ("send", "skip") and e.channel],
            timeline=list(self._timeline),
            started_at=self._started_at,
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
        s = inp.scenario
        restarts = 0
        if inp.carried is None:
            self._started_at = workflow.now().isoformat()
            if inp.options.revision < 1:  # later revisions: set at start by the router (free)
                self._index(
                    search.SCENARIO.value_set(s.id),
                    search.VERSION.value_set(s.version),
                    search.CUSTOMER.value_set(customer_ref(inp.customer_id)),
                )
            self._show("waiting for the trigger event", next_="")
            await workflow.wait_condition(lambda: bool(self._inbox))
            first = self._inbox.pop(0)
            self._note("event", event=first.name, event_id=first.event_id)
            if first.name != s.trigger.event or not await self._holds(s.trigger.when, first, first):
                return self._finish("not_triggered")
            self._trigger = first
            await self._assign_arms()  # holdout and split scenarios only
        while True:
            assert self._trigger is not None
            self._latest = self._trigger.data
            steps = asyncio.create_task(self._measured(s.steps))
            while True:
                await workflow.wait_condition(
                    lambda task=steps: (  # type: ignore[misc]
                        bool(self._inbox) or task.done() or bool(self._cancel_reason)
                    )
                )
                if self._cancel_reason:
                    await self._stop_steps(steps, "cancelled")
                    self._note("skip", reason=f"cancelled: {self._cancel_reason}")
                    return self._finish("cancelled")
                if not self._inbox:
                    if not self._next_digest():  # scenarios with a collect step only
                        return await self._cool_down(self._finish(steps.result()))
                    break
                action = await self._handle(self._inbox.pop(0))
                if action is None:
                    continue
                await self._stop_steps(steps, action)
                if action != "restart":
                    return await self._cool_down(self._finish(action))
                break
            # Restart: the new trigger begins the waits again, with fresh reactions.
            self._generation += 1
            restarts += 1
            self._reactions.clear()
            self._events.clear()
            self._reacted, self._exhausted = False, False
            self._collected, self._collect_mark, self._trigger_collected = [], 0, False
            if (
                restarts >= inp.options.max_restarts
                or workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                keep = inp.options.keep_timeline
                workflow.continue_as_new(
                    RunInput(
                        scenario=s,
                        customer_id=inp.customer_id,
                        run_key=inp.run_key,
                        options=inp.options,
                        carried=Carried(
                            generation=self._generation,
                            trigger=self._trigger,
                            seen_event_ids=self._seen,
                            timeline=self._timeline[-keep:],
                            pending=self._inbox,
                            started_at=self._started_at,
                            sent=self._sent,
                            held_out=self._held_out,
                            variants=self._variants,
                            assigned=self._assigned,
                        ),
                    )
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
        self._stopping = workflow.patched(STOP_PATCH)
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
        pending, self._pending_send = self._pending_send, None
        settle, self._stopping = self._stopping, False  # a restart's new steps go on
        if pending is None or not settle:
            return
        reason = STOPPED_BY.get(why, f"stopped_by_{why}")
        assert self._input is not None
        result = await workflow.execute_local_activity_method(
            Activities.stop_send,
            SendStop(
                key=pending.key,
                customer_id=self._input.customer_id,
                scenario=self._scenario.id,
                step=pending.step,
                channel=pending.channel,
                template=pending.template,
                now=workflow.now().isoformat(),
                reason=reason,
                run_ref="" if self._revision >= 1 else self._run_ref(),
                version=self._scenario.version,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"stop {pending.channel}: {pending.template}"[:200],
        )
        self._record_fate(result, pending.step, pending.channel, pending.template, pending.key)

    async def _handle(self, ev: EventSignal) -> str | None:
        """Route one event; returns an outcome that ends the run, "restart", or None."""
        s = self._scenario
        self._seq += 1
        self._note("event", event=ev.name, event_id=ev.event_id)
        if ev.name in REACTION_EVENTS:
            self._reactions.append((self._seq, REACTION_EVENTS[ev.name]))
            self._reacted = self._reacted or REACTION_EVENTS[ev.name] in s.reaction
            self._events.append((self._seq, ev))  # a wait_for may be waiting for a click
            return None
        assert self._trigger is not None
        for match in s.goals:
            if match.event == ev.name and await self._holds(match.when, ev, self._trigger, "goal"):
                return "converted"
        for match in s.exits:
            if match.event == ev.name and await self._holds(match.when, ev, self._trigger, "exit"):
                return "exited"
        if ev.name == s.trigger.event and s.trigger.again != "signal":
            if s.trigger.again == "restart" and await self._holds(s.trigger.when, ev, ev):
                self._trigger = ev
                return "restart"
            self._timeline[-1].reason = "ignored: run already in progress"
            return None
        self._events.append((self._seq, ev))
        return None

    async def _cool_down(self, final: RunState) -> RunState:
        """With ``trigger.cooldown``, the finished run stays open until the cooldown (from its
        start) ends: the router's signal-with-start reaches this run, which ignores the event,
        so no second run starts for this customer and key. Durable: a Temporal timer."""
        cooldown = self._scenario.trigger.cooldown_s
        if not cooldown:
            return final
        until = datetime.fromisoformat(self._started_at) + timedelta(seconds=cooldown)
        noted = 0
        while (left := (until - workflow.now()).total_seconds()) > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=left)
            while self._inbox:
                ev = self._inbox.pop(0)
                if noted < COOLDOWN_NOTES_KEPT:
                    noted += 1
                    reason = f"ignored: cooldown until {until.isoformat()}"
                    self._note("event", event=ev.name, event_id=ev.event_id, reason=reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _finish(self, outcome: str) -> RunState:
        self._outcome = outcome
        self._step = ""
        self._next_wakeup = ""
        self._note("exit", reason=outcome)
        self._show(f"finished: {outcome}", next_="")
        self._index(search.OUTCOME.value_set(outcome))
        return self.state()

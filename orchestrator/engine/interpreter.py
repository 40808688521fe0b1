"""How a run walks a scenario's steps: waits, sends, ladders, branches and waits for events.

The workflow class (``workflow.py``) owns the handlers and the run's life; this base class holds
the run's state and interprets steps. Deterministic like all workflow code: no I/O, no clock but
``workflow.now()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.learned_run import LearnedRun

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import digest, labels, search
    from orchestrator.engine.activities import SEND_RETRY, Activities
    from orchestrator.engine.messages import (
        EventSignal,
        PendingSend,
        SendRequest,
        SendResult,
    )
    from orchestrator.language.model import EventMatch, Step, iter_steps


class _Stop(Exception):
    """A ``stop`` step: ends the steps with its reason."""


class StepInterpreter(LearnedRun):
    # -- steps -----------------------------------------------------------------------------
    async def _run_steps(self, steps: list[Step]) -> str:
        try:
            await self._steps(steps)
        except _Stop as stop:
            return f"stopped: {stop}"
        if self._reacted:
            return "reacted"
        if self._sent == 0:
            return "nothing_sent"
        return "exhausted" if self._exhausted else "completed"

    async def _steps(self, steps: list[Step]) -> None:
        for i, step in enumerate(steps):
            self._go_on()
            self._step = step.path
            name = labels.step_name(step)
            self._next_label = labels.step_name(steps[i + 1]) if i + 1 < len(steps) else ""
            if self._revision < 1:
                # OmniStep reads like the step ("wait 1h", "ladder: email → push"). Revision 1
                # shows it in the current details only: each upsert is a billable action.
                self._index(search.STEP.value_set(labels.step_label(step)))
            self._show(name)
            await self._one(step)

    async def _one(self, step: Step) -> None:
        if step.kind == "wait":
            self._late = False
            name = labels.step_name(step)
            self._show(f"{name}: waiting")
            await self._sleep_until(
                workflow.now() + timedelta(seconds=step.wait_s or 0), summary=name
            )
        elif step.kind == "wait_until":
            await self._wait_until(step)
        elif step.kind == "send":
            await self._send_first_of(step)
        elif step.kind == "escalate":
            await self._escalate(step)
        elif step.kind == "if":
            branch = step.then if await self._holds(step.condition, None, None) else step.otherwise
            await self._steps(branch)
        elif step.kind == "wait_for":
            await self._wait_for(step)
        elif step.kind == "split":
            await self._steps(self._variant_steps(step))
        elif step.kind == "stop":
            raise _Stop(step.reason or "stopped")
        elif step.kind == "collect":
            await self._collect(step)

    async def _collect(self, step: Step) -> None:
        """Gather this customer's events of one name until the window ends or ``max`` items
        came in; the sends after it list them (``collected``). A goal, exit or cancel stops
        it like any wait (``_go_on``)."""
        c = step.collect
        assert c is not None and self._trigger is not None
        self._late = False
        window = digest.Window(c)
        if self._trigger.name == c.event and not self._trigger_collected:
            window.add(self._trigger)  # the trigger is the first item
            self._trigger_collected = True
        deadline = workflow.now() + timedelta(seconds=c.window_s)
        self._next_wakeup = deadline.isoformat()
        label = labels.step_label(step)
        self._show(f"collecting {c.event} until {deadline.isoformat()}")
        drained = False
        while not window.full:
            # One at a time: events past ``max`` stay for the next digest (_next_digest).
            for seq, ev in self._events:
                if seq > self._collect_mark and not window.full:
                    self._collect_mark = seq
                    if ev.name == c.event:
                        window.add(ev)
            if window.full:
                break
            self._collect_mark = seen = self._seq
            remaining = (deadline - workflow.now()).total_seconds()
            self._go_on()
            if remaining <= 0:
                if drained or not self._inbox or not workflow.patched(digest.LATE_PATCH):
                    break
                # Events that reached the run with its window's end (a worker was away)
                # came within the window: the run takes them in, then they are listed.
                drained = True
                await workflow.wait_condition(lambda: not self._inbox)
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda seen=seen: self._seq > seen,  # type: ignore[misc]
                    timeout=remaining,
                    timeout_summary=label,
                )
        self._next_wakeup = ""
        self._collected = digest.digest(window.events, c)
        if not self._collected and workflow.patched(digest.EMPTY_PATCH):
            raise _Stop(digest.NOTHING_COLLECTED)  # a digest of nothing is no message

    def _next_digest(self) -> bool:
        """Events a digest window missed (they came while its message went out) start the
        next digest in this run rather than being dropped: the first is its trigger, the
        others wait in the inbox. False when there are none (or the scenario has none)."""
        names = {st.collect.event for st in iter_steps(self._scenario.steps) if st.collect}
        if not names or self._scenario.trigger.cooldown_s:
            return False
        left = [ev for seq, ev in self._events if seq > self._collect_mark and ev.name in names]
        if not left:
            return False
        self._trigger = left[0]
        self._inbox[:0] = left[1:]
        self._note("event", event=left[0].name, event_id=left[0].event_id, reason="next digest")
        return True

    async def _wait_until(self, step: Step) -> None:
        if step.at_time:
            result = await self._evaluate(
                "local", step.at or "", None, clock=step.at_time, days=step.at_days
            )
        else:
            assert step.at is not None
            result = await self._evaluate("time", step.at, None, offset_s=step.at_offset_s)
        if result.error:
            self._late = True
            self._note("skip", step=step.path, reason=f"wait_until: {result.error}")
            return
        moment = datetime.fromisoformat(result.at)
        if moment <= workflow.now():
            self._late = step.late == "skip"
            self._note("skip", step=step.path, reason=f"moment already passed ({result.at})")
            return
        self._late = False
        name = labels.step_name(step)
        self._show(f"{name}: waiting until {result.at}")
        await self._sleep_until(moment, summary=name)

    async def _wait_for(self, step: Step) -> None:
        self._late = False
        checked = self._seq
        deadline = workflow.now() + timedelta(seconds=step.timeout_s or 0)
        self._next_wakeup = deadline.isoformat()
        label = labels.step_name(step)
        self._show(f"{label}: waiting")
        while True:
            remaining = (deadline - workflow.now()).total_seconds()
            self._go_on()
            try:
                await workflow.wait_condition(
                    lambda seen=checked: self._seq > seen,  # type: ignore[misc]
                    timeout=max(remaining, 0.001),
                    timeout_summary=label,
                )
            except TimeoutError:
                self._next_wakeup = ""
                await self._steps(step.on_timeout)
                return
            fresh = [ev for seq, ev in self._events if seq > checked]
            checked = self._seq
            for ev in fresh:
                if await self._matches(step.events, ev):
                    self._next_wakeup = ""
                    self._latest = ev.data
                    await self._steps(step.on_event)
                    return

    async def _matches(self, matches: list[EventMatch], ev: EventSignal) -> bool:
        for match in matches:
            if match.event == ev.name and await self._holds(match.when, ev, self._trigger):
                return True
        return False

    async def _send_first_of(self, step: Step) -> None:
        assert step.template is not None
        for channel in step.channels:
            result = await self._deliver(step, channel, step.template, step.path)
            if result is not None and result.status == "sent":
                return

    async def _escalate(self, step: Step) -> None:
        start = self._seq

        def reacted() -> bool:
            return any(
                seq > start and kind in self._scenario.reaction for seq, kind in self._reactions
            )

        self._exhausted = False
        rungs = await self._ladder(step)  # as written, or learned (order: learned)
        for pos, (i, rung) in enumerate(rungs):
            if reacted():
                self._reacted = True
                return
            path = f"{step.path}.rung{i + 1}"
            if self._revision < 1 and workflow.patched("omni-rung-labels"):
                # One more search attribute update per rung; older histories did without.
                self._index(search.STEP.value_set(labels.rung_label(pos, rung.channel)))
            later = [labels.rung_name(step, j) for j, _ in rungs[pos + 1 :]]
            after = later[0] if later else self._next_label
            name = labels.rung_name(step, i)
            self._show(f"{name}: sending", next_=after)
            if await self._too_costly(step, rung, path):
                continue
            result = await self._deliver(step, rung.channel, rung.template, path, stop=reacted)
            if result is None:
                self._reacted = True  # stopped while deferred by quiet hours
                return
            if (result.status == "sent" or self._held_out) and rung.wait_s:
                self._next_wakeup = (workflow.now() + timedelta(seconds=rung.wait_s)).isoformat()
                wait = labels.spoken_duration(rung.wait_s)
                self._show(
                    f"{name}: waiting up to {wait} for a reaction to `{rung.template}`",
                    next_=after,
                )
                self._go_on()
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        reacted,
                        timeout=rung.wait_s,
                        timeout_summary=labels.reaction_wait(rung.wait_s, name),
                    )
                self._next_wakeup = ""
        self._reacted = self._reacted or reacted()
        self._exhausted = not reacted()

    async def _deliver(
        self,
        step: Step,
        channel: str,
        template: str,
        path: str,
        stop: Callable[[], bool] | None = None,
    ) -> SendResult | None:
        """Send once (idempotently); quiet hours defer and retry. None: stopped while deferred."""
        if self._held_out:
            return self._hold_back(path, channel, template)
        if self._late:
            reason = "too_late: the moment for this send had already passed"
            self._skip(path, channel, template, reason)
            await self._log_skip(path, channel, template, reason)
            return SendResult("skipped", reason="too_late")
        assert self._trigger is not None
        key = f"{self._run_ref()}/g{self._generation}/{path}/{channel}"
        # Under way until it has a fate: steps stopped meanwhile leave it here, and the run
        # settles it (workflow.py) — once: the activity's own answer clears it.
        self._pending_send = PendingSend(key=key, step=path, channel=channel, template=template)
        quiet = step.quiet_hours != "ignore"  # no hold for an answer to the customer, at once
        result, deferred_from = await self._attempt(channel, template, path, key, stop, quiet)
        self._pending_send = None
        if result is None:
            return None
        self._record_fate(result, path, channel, template, key, deferred_from)
        self._go_on()  # an answer that raced the run's end is recorded, and nothing follows
        return result

    async def _attempt(
        self,
        channel: str,
        template: str,
        path: str,
        key: str,
        stop: Callable[[], bool] | None,
        quiet: bool,
    ) -> tuple[SendResult | None, str]:
        """The send activity, again after each quiet-hours deferral; (None, _): stopped
        while deferred."""
        s, inp = self._scenario, self._input
        assert inp is not None and self._trigger is not None
        run_ref = self._run_ref()
        lean = self._revision >= 1
        lean_event = not lean or self._latest is not self._trigger.data
        by_ref = lean and self._trigger.stored
        deferred_from = ""
        while True:
            result: SendResult
            self._go_on()
            try:
                result = await workflow.execute_activity_method(
                    Activities.send,
                    SendRequest(
                        key=key,
                        scenario=s.id,
                        category=s.category,
                        topic=s.topic,
                        step=path,
                        channel=channel,
                        template=template,
                        sources={} if lean else s.templates.get(f"{template}/{channel}", {}),
                        by_version=lean,
                        customer_id=inp.customer_id,
                        now=workflow.now().isoformat(),
                        run={}
                        if lean
                        else {"id": workflow.info().workflow_id, "scenario": s.id, "step": path},
                        trigger={} if by_ref else self._trigger.data,
                        trigger_ref=self._trigger.event_id if by_ref else "",
                        # The trigger's data goes once; a later event's (wait_for) as well.
                        event=self._latest if lean_event else None,
                        quiet_hours=s.quiet_hours if quiet else None,
                        frequency_caps=s.frequency_caps,
                        preview=inp.options.preview,
                        run_ref="" if lean else run_ref,
                        version=s.version,
                        content=s.content.get(template, {}) if channel == "whatsapp" else {},
                        **self._collected_fields(lean),
                    ),
                    # None: the run's own queue; a channel of its own has a fleet-wide rate.
                    task_queue=inp.options.send_queues.get(channel),
                    start_to_close_timeout=timedelta(minutes=2),
                    # The send heartbeats: a worker that dies mid-send delays the run by
                    # seconds, and the retry finds the intent in the send log.
                    heartbeat_timeout=timedelta(seconds=10),
                    retry_policy=SEND_RETRY,
                    summary=f"send {channel}: {template}",
                )
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    raise
                # Retries ran out (a provider down for hours, a misconfigured channel): the
                # message is lost and recorded, the run goes on with the next step or rung.
                error = getattr(err.cause, "type", None) or type(err.cause).__name__
                result = SendResult("failed", reason=f"error: {error}, no attempt succeeded")
            if result.status != "deferred":
                break
            deferred_from = deferred_from or workflow.now().isoformat()
            self._show(f"holding {channel} `{template}` until {result.retry_at} ({result.reason})")
            hold = f"hold {channel} for {result.reason or 'quiet hours'}"[:200]
            if await self._sleep_until(datetime.fromisoformat(result.retry_at), stop, summary=hold):
                return None, deferred_from
        return result, deferred_from

    def _collected_fields(self, lean: bool) -> dict[str, list[Any]]:
        """The digest for a send: by event id when every item is stored (revision 1)."""
        if not self._collected:
            return {}
        if lean and all(ev.stored for ev in self._collected):
            return {"collected_refs": [ev.event_id for ev in self._collected]}
        return {"collected": [ev.data for ev in self._collected]}

    def _record_fate(
        self,
        result: SendResult,
        path: str,
        channel: str,
        template: str,
        key: str,
        deferred_from: str = "",
    ) -> SendResult:
        kind = "send" if result.status == "sent" else "skip"
        self._note(
            kind,
            step=path,
            channel=channel,
            template=template,
            status=result.status,
            reason=result.reason,
            preview=result.preview,
            deferred_from=deferred_from,
            key=key,
            detail=result.detail,
        )
        if result.status == "sent":
            self._sent += 1
            if self._revision < 1:
                self._index(search.LAST_CHANNEL.value_set(channel))
        return result

"""One message's way out of a run: whether the run sends it at all (holdout, too late), its
hold for the customer's best time when it says ``at: best_time`` (``best_time.py``), the
``send`` activity with its idempotency key, the holds it asks for (quiet hours, events still on
their way: the activity answers ``deferred`` with a moment), and the message's fate in the
timeline. A send under way when the run ends gets its fate from ``stop_send`` (``settle``).

``deliver`` is the path, in order: skips the run decides itself, then the send under way
(``pending``) and its attempts, each followed by the hold the answer asks for (``_hold``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from orchestrator.engine.workflow.arms import Arms
from orchestrator.engine.workflow.best_time import BestTime
from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.digest import Collector
from orchestrator.engine.workflow.generation import Generation, run_ref
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.activities import SEND_RETRY, Activities
    from orchestrator.engine.messages import (
        PendingSend,
        RunInput,
        SendRequest,
        SendResult,
        SendStop,
    )
    from orchestrator.language.model import Step

#: Runs since this patch record the sends they skip as too late in the send log.
SKIPS_LOGGED = "omni-skips-in-send-log"
#: Runs since this patch record the sends a holdout keeps back in the send log too.
HOLDOUT_LOGGED = "omni-holdout-in-send-log"
#: The fate of a send under way when its run ends, by what ended it.
STOPPED_BY = {
    "converted": "stopped_by_goal",
    "exited": "stopped_by_exit",
    "cancelled": "stopped_by_cancel",
    "restart": "stopped_by_restart",
}


class Sender:
    def __init__(
        self,
        inp: RunInput,
        gen: Generation,
        arms: Arms,
        collector: Collector,
        timeline: Timeline,
        clock: Clock,
    ) -> None:
        self._inp = inp
        self._gen = gen
        self._arms = arms
        self._collector = collector
        self._timeline = timeline
        self._clock = clock
        #: The send under way, if any: a run that ends meanwhile settles its fate.
        self.pending: PendingSend | None = None
        #: Sends with ``at: best_time``: decided once, then held.
        self._best_time = BestTime(inp, gen, timeline, clock)

    async def deliver(
        self,
        step: Step,
        channel: str,
        template: str,
        path: str,
        stop: Callable[[], bool] | None = None,
    ) -> SendResult | None:
        """Send once (idempotently); holds defer and retry. None: ``stop`` came true while
        the send was held."""
        if self._arms.held_out:
            return await self._hold_back(path, channel, template)
        if self._clock.late:
            reason = "too_late: the moment for this send had already passed"
            self._timeline.skip(path, channel, template, reason)
            await self._log_skip(path, channel, template, reason)
            return SendResult("skipped", reason="too_late")
        assert self._gen.trigger is not None
        key = self._gen.send_key(path, channel)
        # Under way until it has a fate: steps stopped meanwhile leave it here, and the run
        # settles it (``settle``) — once: the activity's own answer clears it.
        self.pending = PendingSend(key=key, step=path, channel=channel, template=template)
        quiet = step.quiet_hours != "ignore"  # no hold for an answer to the customer, at once
        result, deferred_from = None, ""
        if await self._best_time.hold(step, path, step.channels or [channel], key, stop):
            result, deferred_from = await self._attempt(channel, template, path, key, stop, quiet)
        self.pending = None
        if result is None:
            return None
        self._timeline.fate(result, path, channel, template, key, deferred_from)
        self._clock.go_on()  # an answer that raced the run's end is recorded, and nothing follows
        return result

    async def settle(self, why: str) -> None:
        """The fate of the send under way when the steps were stopped for ``why`` (an
        outcome, or "restart"): ``stop_send`` answers from the send log whether the adapter
        had handed it over first (``sent``) or never will (``stopped_by_…``)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        s = self._inp.scenario
        lean = self._inp.options.revision >= 1
        result = await workflow.execute_local_activity_method(
            Activities.stop_send,
            SendStop(
                key=pending.key,
                customer_id=self._inp.customer_id,
                scenario=s.id,
                step=pending.step,
                channel=pending.channel,
                template=pending.template,
                now=workflow.now().isoformat(),
                reason=STOPPED_BY.get(why, f"stopped_by_{why}"),
                run_ref="" if lean else run_ref(),
                version=s.version,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"stop {pending.channel}: {pending.template}"[:200],
        )
        self._timeline.fate(result, pending.step, pending.channel, pending.template, pending.key)

    async def _attempt(
        self,
        channel: str,
        template: str,
        path: str,
        key: str,
        stop: Callable[[], bool] | None,
        quiet: bool,
    ) -> tuple[SendResult | None, str]:
        """The send activity, again after each hold it asks for; (None, _): stopped while
        held. Also the moment of the first deferral ("" when none)."""
        s, inp, trigger = self._inp.scenario, self._inp, self._gen.trigger
        assert trigger is not None
        ref = run_ref()
        lean = inp.options.revision >= 1
        lean_event = not lean or self._gen.latest is not trigger.data
        by_ref = lean and trigger.stored
        deferred_from = ""
        while True:
            result: SendResult
            self._clock.go_on()
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
                        trigger={} if by_ref else trigger.data,
                        trigger_ref=trigger.event_id if by_ref else "",
                        # The trigger's data goes once; a later event's (wait_for) as well.
                        event=self._gen.latest if lean_event else None,
                        quiet_hours=s.quiet_hours if quiet else None,
                        frequency_caps=s.frequency_caps,
                        preview=inp.options.preview,
                        run_ref="" if lean else ref,
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
            if await self._hold(result, channel, template, stop):
                return None, deferred_from
        return result, deferred_from

    async def _hold(
        self, result: SendResult, channel: str, template: str, stop: Callable[[], bool] | None
    ) -> bool:
        """Sleep until the moment a deferral names (quiet hours, events on their way: see
        ``engine/hold.py``); True: ``stop`` came true first."""
        self._timeline.show(
            f"holding {channel} `{template}` until {result.retry_at} ({result.reason})"
        )
        summary = f"hold {channel} for {result.reason or 'quiet hours'}"[:200]
        return await self._clock.sleep_until(
            datetime.fromisoformat(result.retry_at), stop, summary=summary
        )

    def _collected_fields(self, lean: bool) -> dict[str, list[Any]]:
        """The digest for a send: by event id when every item is stored (revision 1)."""
        collected = self._collector.collected
        if not collected:
            return {}
        if lean and all(ev.stored for ev in collected):
            return {"collected_refs": [ev.event_id for ev in collected]}
        return {"collected": [ev.data for ev in collected]}

    async def _hold_back(self, path: str, channel: str, template: str) -> SendResult:
        reason = "holdout: this customer is held out, so nothing is sent"
        self._timeline.skip(path, channel, template, reason)
        # In the send log as every other skip: Messages lists it, the funnel counts it per
        # step beside the arm's count of runs (older runs left it in their timeline only).
        await self._log_skip(path, channel, template, reason, patch=HOLDOUT_LOGGED)
        return SendResult("skipped", reason="holdout")

    async def _log_skip(
        self, path: str, channel: str, template: str, reason: str, *, patch: str = SKIPS_LOGGED
    ) -> None:
        """A send the run skips by itself (too late, held out) goes to the send log like every
        other fate, so the console and /metrics count it. Patched: older runs kept such skips
        in their timeline only, and their histories replay without this local activity."""
        if not workflow.patched(patch):
            return
        s = self._inp.scenario
        await workflow.execute_local_activity_method(
            Activities.log_skip,
            SendStop(
                key=self._gen.send_key(path, channel),
                customer_id=self._inp.customer_id,
                scenario=s.id,
                step=path,
                channel=channel,
                template=template,
                now=workflow.now().isoformat(),
                reason=reason,
                run_ref="" if self._inp.options.revision >= 1 else run_ref(),
                version=s.version,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"skip {channel}: {template} ({reason.split(':', 1)[0]})"[:200],
        )

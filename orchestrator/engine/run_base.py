"""A run's state and the small deterministic helpers every step uses: sleeping, evaluating
conditions (in workflow code or a local activity), the timeline, search attributes and the
run's reference."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels
    from orchestrator.engine.activities import Activities
    from orchestrator.engine.evaluation import evaluate_inline, inline_ok
    from orchestrator.engine.messages import (
        EvalRequest,
        EvalResult,
        EventSignal,
        PendingSend,
        RunInput,
        TimelineEntry,
    )
    from orchestrator.engine.send_lines import workflow_skip
    from orchestrator.language.model import REACTION_EVENTS, Scenario


class RunBase:
    def __init__(self) -> None:
        self._inbox: list[EventSignal] = []
        self._seen: list[str] = []
        self._seen_set: set[str] = set()
        self._seq = 0
        self._events: list[tuple[int, EventSignal]] = []
        self._reactions: list[tuple[int, str]] = []
        self._timeline: list[TimelineEntry] = []
        self._outcome = ""
        self._step = ""
        self._next_wakeup = ""
        self._late = False
        self._generation = 0
        self._started_at = ""
        self._latest: dict[str, object] = {}
        self._trigger: EventSignal | None = None
        self._input: RunInput | None = None
        #: What the outcome is made of: messages sent, a ladder stopped by a reaction, the
        #: last ladder run out without one.
        self._sent = 0
        self._reacted = False
        self._exhausted = False
        #: The label of the step after the current one, for the run's current details.
        self._next_label = ""
        #: Set by the ``cancel`` signal: the run ends with outcome "cancelled".
        self._cancel_reason = ""
        #: The send under way, if any: a run that ends meanwhile records its fate.
        self._pending_send: PendingSend | None = None
        #: The run is ending: its steps start nothing new (see ``_go_on``).
        self._stopping = False
        #: collect steps: the digest so far (newest first), the last event seq a collect step
        #: took in, and whether this generation's trigger is in a digest already.
        self._collected: list[EventSignal] = []
        self._collect_mark = 0
        self._trigger_collected = False

    # -- helpers ---------------------------------------------------------------------------
    def _go_on(self) -> None:
        """Called before the steps start anything (an activity, a timer, a wait): once the run
        is ending, stop here. Cancelling the steps' task is only a request — an activity that
        answered in the same activation hands its result back instead — so the steps check
        before they do more."""
        if self._stopping:
            raise asyncio.CancelledError

    def _run_ref(self) -> str:
        """This run, distinct from earlier runs of the same workflow id and stable across
        retries, crashes and continue-as-new: the send keys' prefix (see README, "Send keys")."""
        info = workflow.info()
        chain = (info.first_execution_run_id or info.run_id).replace("-", "")[:16]
        return f"{info.workflow_id}/{chain}"

    @property
    def _revision(self) -> int:
        """The engine revision this run started with (``RunOptions.revision``)."""
        return self._input.options.revision if self._input is not None else 0

    @property
    def _scenario(self) -> Scenario:
        assert self._input is not None
        return self._input.scenario

    async def _sleep_until(
        self, moment: datetime, stop: Callable[[], bool] | None = None, *, summary: str = ""
    ) -> bool:
        """Sleep until ``moment``; True if ``stop`` became true first. ``summary`` names the
        timer in the Temporal UI."""
        self._go_on()
        delta = (moment - workflow.now()).total_seconds()
        if delta <= 0:
            return False
        self._next_wakeup = moment.isoformat()
        summary = summary or f"wait {labels.duration(delta)}"
        try:
            if stop is None:
                await workflow.sleep(delta, summary=summary)
                return False
            await workflow.wait_condition(stop, timeout=delta, timeout_summary=summary)
            return True
        except TimeoutError:
            return False
        finally:
            self._next_wakeup = ""

    async def _holds(
        self,
        condition: str | None,
        ev: EventSignal | None,
        trigger: EventSignal | None,
        what: str = "",
    ) -> bool:
        if condition is None:
            return True
        result = await self._evaluate("condition", condition, ev, trigger=trigger)
        if result.error and what:
            # A goal or exit that cannot be evaluated on real data is not "not converted":
            # the run records a problem the console shows, and the worker logs a warning.
            event = ev.name if ev else ""
            self._note("problem", step=self._step, event=event, reason=f"{what}: {result.error}")
            workflow.logger.warning(
                "%s condition of %s cannot be evaluated on event %s: %s",
                what,
                self._run_ref(),
                event,
                result.error,
            )
        elif result.error:
            self._note("skip", step=self._step, reason=f"condition false: {result.error}")
        return result.value

    async def _evaluate(
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
        assert self._input is not None
        trig = trigger or self._trigger
        engagement = {k: any(r == k for _, r in self._reactions) for k in REACTION_EVENTS.values()}
        self._go_on()
        if kind == "condition" and self._revision >= 1 and inline_ok(expression):
            event = ev.data if ev else dict(self._latest)
            return evaluate_inline(expression, event, trig.data if trig else {}, engagement)
        return await workflow.execute_local_activity_method(
            Activities.evaluate,
            EvalRequest(
                kind=kind,
                expression=expression,
                customer_id=self._input.customer_id,
                event=ev.data if ev else dict(self._latest),
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

    def _note(self, kind: str, **fields: str) -> None:
        self._timeline.append(TimelineEntry(at=workflow.now().isoformat(), kind=kind, **fields))

    def _skip(self, path: str, channel: str, template: str, reason: str) -> None:
        """A send the run skips itself (no activity): in its timeline and the send log line;
        ``reason`` is ``code: words``."""
        self._note(
            "skip", step=path, channel=channel, template=template, status="skipped", reason=reason
        )
        code = reason.split(":", 1)[0]
        workflow_skip(
            scenario=self._scenario.id, step=path, channel=channel, template=template, reason=code
        )

    def _index(self, *updates: SearchAttributeUpdate[str]) -> None:
        assert self._input is not None
        if self._input.options.index:
            workflow.upsert_search_attributes(list(updates))

    def _show(self, doing: str, *, next_: str | None = None) -> None:
        """The run's current details in the Temporal UI: what it does now, what comes next and
        the channels it has sent on so far (no addresses, no content)."""
        sent = [e.channel for e in self._timeline if e.kind == "send" and e.channel]
        workflow.set_current_details(
            labels.current_details(
                doing, next_=self._next_label if next_ is None else next_, sent=sent
            )
        )

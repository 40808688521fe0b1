"""The run's time: timers and waits, each behind the checkpoint that stops a run that is
ending (``go_on``), and whether the moment for the next sends has passed (``late``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels


class Clock:
    def __init__(self, timeline: Timeline) -> None:
        self._timeline = timeline
        #: The run is ending: its steps start nothing new (see ``go_on``).
        self.stopping = False
        #: The moment the sends after a wait were meant for has passed (``wait_until`` with
        #: ``late: skip``, or a moment that could not be computed): they are skipped as too late.
        self.late = False

    def go_on(self) -> None:
        """Called before the steps start anything (an activity, a timer, a wait): once the run
        is ending, stop here. Cancelling the steps' task is only a request — an activity that
        answered in the same activation hands its result back instead — so the steps check
        before they do more."""
        if self.stopping:
            raise asyncio.CancelledError

    async def sleep_until(
        self, moment: datetime, stop: Callable[[], bool] | None = None, *, summary: str = ""
    ) -> bool:
        """Sleep until ``moment``; True if ``stop`` became true first. ``summary`` names the
        timer in the Temporal UI."""
        self.go_on()
        delta = (moment - workflow.now()).total_seconds()
        if delta <= 0:
            return False
        self._timeline.next_wakeup = moment.isoformat()
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
            self._timeline.next_wakeup = ""

    async def wait(self, done: Callable[[], bool], timeout: float, summary: str) -> bool:
        """Wait until ``done()`` or for ``timeout`` seconds (a timer named ``summary``); True
        if ``done()`` came first."""
        self.go_on()
        try:
            await workflow.wait_condition(done, timeout=timeout, timeout_summary=summary)
        except TimeoutError:
            return False
        return True

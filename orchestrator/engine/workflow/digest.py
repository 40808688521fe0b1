"""Digests: a ``collect`` step gathers a customer's events of one name for a window, and the
sends after it list them (``collected``). ``Collector`` is the run's side; ``digest`` and
``Window`` are pure.

The events themselves are in the run's history already (each came as a signal); a send names
them by event id when the API stored them (``SendRequest.collected_refs``, read back by the send
activity like ``trigger_ref``), so the list is not copied into every send's input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from orchestrator.engine.workflow.clock import Clock
from orchestrator.engine.workflow.generation import Generation
from orchestrator.engine.workflow.inbox import Inbox
from orchestrator.engine.workflow.timeline import Timeline

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels
    from orchestrator.engine.messages import EventSignal
    from orchestrator.language.model import Collect, Scenario, Step, iter_steps


#: ``workflow.patched`` id: a collect step whose window saw no event of its name ends the
#: run's steps (its outcome ``stopped: nothing collected``) instead of handing the sends after
#: it an empty list. Only a collect of another event than the trigger's, or a second collect
#: step, can see nothing; the marker is written only then (a marker is a billable action).
EMPTY_PATCH = "omni-empty-digest"
NOTHING_COLLECTED = "nothing collected"
#: ``workflow.patched`` id: events the run got in the same workflow task as its window's end
#: (all events that came while no worker ran, when the window ended meanwhile) join this
#: digest; before, they waited in the inbox while the window closed and made a second digest.
LATE_PATCH = "omni-digest-late-events"


class NothingCollected(Exception):
    """A window that saw no event of its name: the steps end, sending nothing."""


def key_of(data: dict[str, Any], path: str) -> str | None:
    """The value at a dotted ``path`` of ``data`` as text (None: missing)."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None else repr(value)


def digest(events: list[EventSignal], collect: Collect) -> list[EventSignal]:
    """``events`` (oldest first) as the digest lists them: newest first, the newest one per
    key (an event without the key is an item of its own), at most ``collect.max``."""
    out: list[EventSignal] = []
    keys: set[str] = set()
    ids: set[str] = set()
    for ev in reversed(events):
        if ev.event_id in ids:
            continue
        ids.add(ev.event_id)
        key = key_of(ev.data, collect.key) if collect.key else None
        if key is not None:
            if key in keys:
                continue
            keys.add(key)
        out.append(ev)
    return out[: collect.max]


class Window:
    """A digest being gathered: how many items (distinct keys) it holds so far."""

    def __init__(self, collect: Collect) -> None:
        self.collect = collect
        self.events: list[EventSignal] = []
        self._keys: set[str] = set()
        self._ids: set[str] = set()

    def add(self, ev: EventSignal) -> None:
        if ev.event_id in self._ids:
            return
        self._ids.add(ev.event_id)
        self.events.append(ev)
        key = key_of(ev.data, self.collect.key) if self.collect.key else None
        self._keys.add(key if key is not None else f"id:{ev.event_id}")

    @property
    def full(self) -> bool:
        return len(self._keys) >= self.collect.max


class Collector:
    """A run's digests: the one so far (newest first) for the sends after a ``collect`` step,
    and where the last window stopped taking events in."""

    def __init__(
        self, scenario: Scenario, gen: Generation, inbox: Inbox, timeline: Timeline, clock: Clock
    ) -> None:
        self._scenario = scenario
        self._gen = gen
        #: Read only: whether events reached the run that it has not taken in yet.
        self._inbox = inbox
        self._timeline = timeline
        self._clock = clock
        self.collected: list[EventSignal] = []
        #: The number of the last event a window took in (``Generation.seq``).
        self._mark = 0
        #: This generation's trigger is in a digest already.
        self._trigger_taken = False

    def restart(self) -> None:
        self.collected, self._mark, self._trigger_taken = [], 0, False

    async def collect(self, step: Step) -> None:
        """Gather this customer's events of one name until the window ends or ``max`` items
        came in. A goal, exit or cancel stops it like any wait (``Clock.go_on``)."""
        c, gen = step.collect, self._gen
        assert c is not None and gen.trigger is not None
        self._clock.late = False
        window = Window(c)
        if gen.trigger.name == c.event and not self._trigger_taken:
            window.add(gen.trigger)  # the trigger is the first item
            self._trigger_taken = True
        deadline = workflow.now() + timedelta(seconds=c.window_s)
        self._timeline.next_wakeup = deadline.isoformat()
        label = labels.step_label(step)
        self._timeline.show(f"collecting {c.event} until {deadline.isoformat()}")
        drained = False
        while not window.full:
            # One at a time: events past ``max`` stay for the next digest (``missed``).
            for seq, ev in gen.events:
                if seq > self._mark and not window.full:
                    self._mark = seq
                    if ev.name == c.event:
                        window.add(ev)
            if window.full:
                break
            self._mark = seen = gen.seq
            remaining = (deadline - workflow.now()).total_seconds()
            self._clock.go_on()
            if remaining <= 0:
                if drained or not self._inbox or not workflow.patched(LATE_PATCH):
                    break
                # Events that reached the run with its window's end (a worker was away) came
                # within the window: the run takes them in, then they are listed.
                drained = True
                await workflow.wait_condition(self._inbox_empty)
                continue
            await self._clock.wait(gen.heard_after(seen), remaining, label)
        self._timeline.next_wakeup = ""
        self.collected = digest(window.events, c)
        if not self.collected and workflow.patched(EMPTY_PATCH):
            raise NothingCollected(NOTHING_COLLECTED)  # a digest of nothing is no message

    def _inbox_empty(self) -> bool:
        return not self._inbox

    def missed(self) -> list[EventSignal]:
        """Events a digest window missed (they came while its message went out), oldest
        first: they start the next digest in this run rather than being dropped. Empty when
        there are none, or the scenario collects nothing or has a cooldown."""
        names = {st.collect.event for st in iter_steps(self._scenario.steps) if st.collect}
        if not names or self._scenario.trigger.cooldown_s:
            return []
        return [ev for seq, ev in self._gen.events if seq > self._mark and ev.name in names]

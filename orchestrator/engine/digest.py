"""What a ``collect`` step hands its sends: pure and deterministic, so workflow code may use it.

The events themselves are in the run's history already (each came as a signal); a send names
them by event id when the API stored them (``SendRequest.collected_refs``, read back by the send
activity like ``trigger_ref``), so the list is not copied into every send's input."""

from __future__ import annotations

from typing import Any

from orchestrator.engine.messages import EventSignal
from orchestrator.language.model import Collect

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
#: The send activity's skip when every item a digest named by event id was erased since.
DIGEST_GONE = "digest_data_gone: every collected event's data was erased"


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

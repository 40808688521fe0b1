"""Events delivered to the run and not handled yet. Delivery is at least once: an event id
seen before is dropped here."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.messages import Carried, EventSignal

#: Event ids remembered for dropping redeliveries (carried over continue-as-new).
SEEN_IDS_KEPT = 500


class Inbox:
    def __init__(self, carried: Carried | None) -> None:
        self.pending: list[EventSignal] = list(carried.pending) if carried else []
        self.seen: list[str] = list(carried.seen_event_ids) if carried else []
        self._seen_set = set(self.seen)

    def __bool__(self) -> bool:
        return bool(self.pending)

    def put(self, ev: EventSignal) -> None:
        if ev.event_id in self._seen_set:
            return
        self.seen.append(ev.event_id)
        self._seen_set.add(ev.event_id)
        if len(self.seen) > SEEN_IDS_KEPT:
            self._seen_set.discard(self.seen.pop(0))
        self.pending.append(ev)

    def pop(self) -> EventSignal:
        return self.pending.pop(0)

    def put_back(self, events: list[EventSignal]) -> None:
        """Events taken out earlier, handled before anything delivered since."""
        self.pending[:0] = events

"""Where a run's history bytes go: its events split into parts that add up to the whole.

``parts(events)`` maps each part (the start's input, its search attributes, its user metadata
— the Temporal UI's summary and details —, signals, each send's input and result, timers
and their summaries, workflow task bookkeeping, upserts, the result) to the bytes it takes,
so two ladders can be compared part by part (bench/engine.py prints the table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

E = EventType
_TASK = {
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


def _pieces(ev: HistoryEvent) -> tuple[str, dict[str, int]]:
    """(the part the event's remaining bytes go to, its named sub-parts)."""
    t = ev.event_type
    meta = ev.user_metadata.ByteSize() if ev.HasField("user_metadata") else 0
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        a = ev.workflow_execution_started_event_attributes
        return "start: rest", {
            "start: input": a.input.ByteSize(),
            "start: search attributes": a.search_attributes.ByteSize(),
            "start: summary and details": meta,
        }
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        signal = ev.workflow_execution_signaled_event_attributes.input.ByteSize()
        return "signals: rest", {"signals: payload": signal}
    if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled = ev.activity_task_scheduled_event_attributes.input.ByteSize()
        return "activities: rest", {"activities: input": scheduled, "activities: summaries": meta}
    if t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        result = ev.activity_task_completed_event_attributes.result.ByteSize()
        return "activities: rest", {"activities: result": result}
    if t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        return "activities: rest", {}
    if t in (E.EVENT_TYPE_TIMER_STARTED, E.EVENT_TYPE_TIMER_FIRED):
        return "timers: rest", {"timers: summaries": meta}
    if t in _TASK:
        return "workflow tasks", {}
    if t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        return "search attribute upserts", {}
    if t == E.EVENT_TYPE_MARKER_RECORDED:
        return "markers (local activities)", {}
    if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        result = ev.workflow_execution_completed_event_attributes.result.ByteSize()
        return "result: rest", {"result: payload": result}
    return f"other: {E.Name(t).removeprefix('EVENT_TYPE_').lower()}", {}


def parts(events: Iterable[HistoryEvent]) -> Counter[str]:
    """Bytes per part of one run's history; the parts sum to ``history_bytes(events)``."""
    out: Counter[str] = Counter()
    for ev in events:
        rest, pieces = _pieces(ev)
        out.update(pieces)
        out[rest] += ev.ByteSize() - sum(pieces.values())
    return +out

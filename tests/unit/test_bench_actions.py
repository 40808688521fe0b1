"""The billable-action count of bench/actions.py on hand-built histories (Temporal Cloud's
published rules; the figures themselves are printed by bench/engine.py, never asserted)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not installed

from bench.actions import billable_actions, history_bytes, monthly_cost

E = EventType


def history(*specs: tuple[int, dict[str, Any]] | int) -> list[HistoryEvent]:
    """Events numbered from 1: an event type, or (type, {"attributes.field": value})."""
    events = []
    for i, spec in enumerate(specs, start=1):
        kind, fields = spec if isinstance(spec, tuple) else (spec, {})
        ev = HistoryEvent(event_id=i, event_type=kind)  # type: ignore[arg-type]
        for path, value in fields.items():
            group, _, name = path.partition(".")
            target = getattr(ev, group)
            if isinstance(value, WorkflowExecution):
                getattr(target, name).CopyFrom(value)
            elif isinstance(value, dict):
                for key, payload in value.items():
                    getattr(target, name).indexed_fields[key].CopyFrom(payload)
            elif "." in name:
                inner, _, leaf = name.partition(".")
                setattr(getattr(target, inner), leaf, value)
            else:
                setattr(target, name, value)
        events.append(ev)
    return events


def started(**fields: Any) -> tuple[int, dict[str, Any]]:
    return (E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, fields)


def task(n: int) -> list[EventType.ValueType]:
    """A workflow task: scheduled, started, completed."""
    return [
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    ][:n]


def marker(task_completed: int) -> tuple[int, dict[str, Any]]:
    attrs = "marker_recorded_event_attributes.workflow_task_completed_event_id"
    return (E.EVENT_TYPE_MARKER_RECORDED, {attrs: task_completed})


def upsert(*names: str) -> tuple[int, dict[str, Any]]:
    path = "upsert_workflow_search_attributes_event_attributes.search_attributes"
    return (E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {path: dict.fromkeys(names, Payload())})


def test_signal_with_start_is_one_action_and_later_signals_one_each() -> None:
    events = history(
        started(),
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,  # the signal of signal-with-start
        *task(3),
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    )
    actions = billable_actions(events)
    assert dict(actions.by_kind) == {"start": 1, "signal": 2}
    assert actions.total == 3


def test_plain_start_then_a_signal_is_two_actions() -> None:
    events = history(started(), *task(3), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert billable_actions(events).total == 2


def test_the_hand_written_ladder_shape() -> None:
    """Signal-with-start, a sleep, then send / wait for a reaction four times (the last send
    without a wait): 1 + 4 timers + 4 activities = 9 actions."""
    rung = [
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        *task(3),
        E.EVENT_TYPE_TIMER_STARTED,
        E.EVENT_TYPE_TIMER_FIRED,
        *task(3),
    ]
    events = history(
        started(),
        E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        *task(3),
        E.EVENT_TYPE_TIMER_STARTED,
        E.EVENT_TYPE_TIMER_FIRED,
        *task(3),
        *rung * 3,
        *rung[:6],
        E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    )
    actions = billable_actions(events)
    assert dict(actions.by_kind) == {"start": 1, "timer": 4, "activity": 4}
    assert actions.total == 9


def test_activity_retries_count_from_the_started_attempt() -> None:
    attempt = "activity_task_started_event_attributes.attempt"
    events = history(
        started(),
        *task(3),
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        (E.EVENT_TYPE_ACTIVITY_TASK_STARTED, {attempt: 3}),  # two retries before this one
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        (E.EVENT_TYPE_ACTIVITY_TASK_STARTED, {attempt: 1}),
    )
    assert dict(billable_actions(events).by_kind) == {
        "start": 1,
        "activity": 2,
        "activity_retry": 2,
    }


def test_markers_count_once_per_workflow_task_and_local_activity_retries_add() -> None:
    retries = (
        "workflow_task_completed_event_attributes."
        "metering_metadata.nonfirst_local_activity_execution_attempts"
    )
    events = history(
        started(),
        *task(2),
        (E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {retries: 2}),  # event 4
        marker(4),
        marker(4),
        marker(4),
        *task(3),  # 8, 9, 10
        marker(10),  # a patch marker in another task
    )
    assert dict(billable_actions(events).by_kind) == {
        "start": 1,
        "markers": 2,
        "local_activity_retry": 2,
    }


def test_search_attribute_upserts_count_per_command_but_change_version_is_exempt() -> None:
    events = history(
        started(),
        *task(3),
        upsert("OmniScenario", "OmniScenarioVersion", "OmniCustomerId"),  # one command
        upsert("TemporalChangeVersion"),
        upsert("OmniStep"),
        (E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, {}),
    )
    assert dict(billable_actions(events).by_kind) == {
        "start": 1,
        "search_attributes": 2,
        "memo": 1,
    }


def test_children_updates_resets_and_the_child_own_start() -> None:
    failed = "workflow_task_failed_event_attributes.cause"
    reset = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    parent = history(
        started(),
        *task(3),
        E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED,
        (E.EVENT_TYPE_WORKFLOW_TASK_FAILED, {failed: reset}),
        (E.EVENT_TYPE_WORKFLOW_TASK_FAILED, {}),  # an ordinary task failure: free
        E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,  # billed to the signalled run
        E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
    )
    assert dict(billable_actions(parent).by_kind) == {
        "start": 1,
        "child_workflow": 2,
        "update": 1,
        "options_updated": 1,
        "reset": 1,
        "nexus": 1,
    }
    child = history(
        started(
            **{
                "workflow_execution_started_event_attributes.parent_workflow_execution": (
                    WorkflowExecution(workflow_id="parent")
                )
            }
        ),
        *task(3),
    )
    assert billable_actions(child).total == 0  # its start is the parent's second action


def test_history_bytes_and_monthly_cost() -> None:
    events = history(started(), *task(3))
    assert history_bytes(events) == sum(len(e.SerializeToString()) for e in events)
    assert monthly_cost(9, 10_000_000, 25) == 2250.0
    assert monthly_cost(23, 10_000_000, 50) == 11500.0

"""What a run costs on Temporal Cloud, counted from its event history.

Pure functions over ``temporalio.api.history.v1.HistoryEvent`` lists (one run's history, as
``WorkflowHandle.fetch_history()`` returns it): the billable actions, by Temporal Cloud's
published rules (docs.temporal.io/evaluate/cloud/actions), and the history's size.

The rules, event by event:

=============================================  ==========================================
event                                          actions
=============================================  ==========================================
WorkflowExecutionStarted                       1 (client start, continue-as-new). Started
                                               by a parent: 0 here, the parent's
                                               StartChildWorkflowExecutionInitiated counts
WorkflowExecutionSignaled                      1 each; the signal of a signal-with-start
                                               (event 2, right after the start) is part of
                                               the start's 1 action
TimerStarted                                   1 (also the timer of wait_condition(timeout))
ActivityTaskScheduled                          1
ActivityTaskStarted                            attempt - 1 (retries; intermediate attempts
                                               leave no event of their own)
MarkerRecorded                                 1 per workflow task holding any (all local
                                               activities and patch markers of one task)
WorkflowTaskCompleted                          + metering_metadata.nonfirst_local_activity_
                                               execution_attempts (local activity retries)
UpsertWorkflowSearchAttributes                 1 per command, 0 if it only sets
                                               TemporalChangeVersion (exempt)
WorkflowPropertiesModified (upsert memo)       1
StartChildWorkflowExecutionInitiated           2 (the intent and the start)
WorkflowExecutionUpdateAccepted                1
WorkflowExecutionOptionsUpdated                1
WorkflowTaskFailed, cause RESET_WORKFLOW       1
NexusOperationScheduled / CancelRequested      1
SignalExternalWorkflowExecutionInitiated       0 here: counted in the signalled run's history
=============================================  ==========================================

Not in any history, so not counted here: queries (1 each), activity heartbeats that reach the
server (Omni's send heartbeats only after 2 s, so fast sends send none), workflow task
heartbeats of long local activities, the two extra actions of a Schedule's start.

Temporal Server 1.32's own ``action`` metric (the dev server serves it with --metrics-port)
agrees with these rules on Omni's runs except for one thing: it also counts the
TemporalChangeVersion upsert of ``workflow.patched``, which the published rules exempt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

#: Exempt from counting (the patch/version search attribute of workflow.patched).
CHANGE_VERSION = "TemporalChangeVersion"


@dataclass
class Actions:
    """Billable actions of one run, by kind (``total`` is what Temporal Cloud bills)."""

    by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def describe(self) -> str:
        return ", ".join(f"{kind} {n}" for kind, n in sorted(self.by_kind.items()) if n)


def billable_actions(events: Sequence[HistoryEvent]) -> Actions:
    """The actions Temporal Cloud bills for the run whose history is ``events``."""
    count: Counter[str] = Counter()
    marker_tasks: set[int] = set()
    for i, ev in enumerate(events):
        t = ev.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = ev.workflow_execution_started_event_attributes
            if not started.HasField("parent_workflow_execution"):
                count["start"] += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            with_start = i == 1 and events[0].event_type == (
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
            )
            if not with_start:
                count["signal"] += 1
        elif t == EventType.EVENT_TYPE_TIMER_STARTED:
            count["timer"] += 1
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            count["activity"] += 1
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            count["activity_retry"] += max(ev.activity_task_started_event_attributes.attempt - 1, 0)
        elif t == EventType.EVENT_TYPE_MARKER_RECORDED:
            task = ev.marker_recorded_event_attributes.workflow_task_completed_event_id
            if task not in marker_tasks:
                marker_tasks.add(task)
                count["markers"] += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            metering = ev.workflow_task_completed_event_attributes.metering_metadata
            count["local_activity_retry"] += metering.nonfirst_local_activity_execution_attempts
        elif t == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            attrs = ev.upsert_workflow_search_attributes_event_attributes
            names = set(attrs.search_attributes.indexed_fields)
            if names - {CHANGE_VERSION}:
                count["search_attributes"] += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            count["memo"] += 1
        elif t == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            count["child_workflow"] += 2
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            count["update"] += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
            count["options_updated"] += 1
        elif t == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = ev.workflow_task_failed_event_attributes.cause
            if cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW:
                count["reset"] += 1
        elif t in (
            EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
            EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
        ):
            count["nexus"] += 1
    return Actions(+count)


def history_bytes(events: Iterable[HistoryEvent]) -> int:
    """The history's serialized size: the sum of its events' protobuf sizes. The server's own
    figure (``describe()``'s history_size_bytes) is within a few bytes per event of it."""
    return sum(ev.ByteSize() for ev in events)


def monthly_cost(actions_per_run: float, runs: int, price_per_million: float) -> float:
    """Dollars a month for ``runs`` runs a month at ``price_per_million`` dollars per million
    actions (Temporal Cloud lists about $50 at the low tier, $25 at 100-200 M a month)."""
    return actions_per_run * runs / 1_000_000 * price_per_million

"""Dataclasses crossing the workflow boundary: inputs, signals, queries, activity calls.

New fields must get defaults so that recorded histories still replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.language.model import ContentTemplate, FrequencyCap, QuietHours, Scenario


@dataclass
class EventSignal:
    """A customer event delivered to a run; ``event_id`` makes redelivery harmless."""

    name: str
    event_id: str
    customer_id: str = ""
    occurred_at: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    #: The API keeps this event's data in its store: sends of revision-1 runs refer to it by
    #: ``event_id`` instead of carrying it (history stays small whatever the cart's size).
    stored: bool = False


@dataclass
class TimelineEntry:
    """Something that happened in a run: kind is send, skip, event, problem or exit."""

    at: str
    kind: str
    step: str = ""
    channel: str = ""
    template: str = ""
    status: str = ""
    reason: str = ""
    event: str = ""
    preview: str = ""
    deferred_from: str = ""
    key: str = ""
    #: The event's id, for kind=event (each id takes effect once per run).
    event_id: str = ""
    #: Channel facts worth showing, e.g. SMS segments and encoding (simulator only).
    detail: str = ""


#: The engine revision new runs start with (``RunOptions.revision``).
REVISION = 1


@dataclass
class RunOptions:
    #: Upsert search attributes (off on the time-skipping test server, which has none).
    index: bool = True
    #: Return rendered previews from sends (simulator only: previews are PII).
    preview: bool = False
    #: Restarts after which a run continues as new, keeping its history small.
    max_restarts: int = 25
    #: Timeline entries kept across continue-as-new.
    keep_timeline: int = 200
    #: The engine revision the run started with (the router sets ``REVISION``; recorded runs
    #: decode as 0). Behaviour that changes what a run records is keyed by it, which unlike
    #: ``workflow.patched`` costs no marker. 1: search attributes set at start and only the
    #: outcome upserted; conditions without contact data evaluated in the workflow; sends
    #: carry the template by version and the trigger data once.
    revision: int = 0
    #: Channel -> the task queue its sends are scheduled on (OMNI_SEND_QUEUES); a channel not
    #: named here sends on the run's own queue. Fixed at start, so a run replays the same.
    send_queues: dict[str, str] = field(default_factory=dict)


@dataclass
class Carried:
    """What survives continue-as-new."""

    generation: int
    trigger: EventSignal
    seen_event_ids: list[str] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    pending: list[EventSignal] = field(default_factory=list)
    started_at: str = ""
    #: Messages sent so far (the outcome says nothing_sent when none was).
    sent: int = 0
    #: The run's arms (holdout, split variants), decided once per chain.
    held_out: bool = False
    variants: dict[str, str] = field(default_factory=dict)
    assigned: bool = False


@dataclass
class RunInput:
    scenario: Scenario
    customer_id: str
    run_key: str
    options: RunOptions = field(default_factory=RunOptions)
    carried: Carried | None = None


@dataclass
class CancelRun:
    """The ``cancel`` signal: support staff or the shop end a run, saying why."""

    reason: str = ""


@dataclass
class RunState:
    """A run as the ``state`` query shows it. As a run's result (revision 1), ``timeline``
    leaves out the sends and skips that ``messages`` holds."""

    scenario: str
    version: str
    customer_id: str
    run_key: str
    generation: int = 0
    current_step: str = ""
    next_wakeup: str = ""
    outcome: str = ""
    engagement: dict[str, bool] = field(default_factory=dict)
    messages: list[TimelineEntry] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    started_at: str = ""


@dataclass
class SendRequest:
    """What a run asks the send activity to send: the one dataclass for a send across the
    workflow boundary. Revision-1 runs refer to the template (``by_version``), the stored
    trigger (``trigger_ref``) and a digest's stored events (``collected_refs``); revision-0
    runs, which may still be in flight, carried them inline. The activity resolves either into
    one ``Send`` before anything else (``engine/resolve.py``). Field names and defaults are in
    recorded history: keep them."""

    key: str
    scenario: str
    step: str
    channel: str
    template: str
    customer_id: str
    now: str
    # Defaults where a revision-1 send leaves them out (compact payloads omit defaults).
    category: str = "marketing"
    #: The scenario's topic ("" none): a customer may have turned it off.
    topic: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)
    #: The latest event's data; None: the trigger's (not carried twice).
    event: dict[str, Any] | None = None
    quiet_hours: QuietHours | None = None
    frequency_caps: list[FrequencyCap] = field(default_factory=list)
    preview: bool = False
    #: The run (workflow id and run chain) the send belongs to; the send key starts with it.
    run_ref: str = ""
    #: The scenario version the run executes (the console's funnel filters by it).
    version: str = ""
    #: WhatsApp: the approved template by locale, sent when free text may not be (``sources``
    #: holds the free text, if any).
    content: dict[str, ContentTemplate] = field(default_factory=dict)
    #: ``sources`` left out: the worker finds the template by ``version`` (revision 1).
    by_version: bool = False
    #: ``trigger`` left out: the worker reads the data of this stored event (revision 1).
    trigger_ref: str = ""
    #: A ``collect`` step's events (newest first): their data, or when the API stored them
    #: their ids, read back by the worker (``collected`` stays empty then).
    collected: list[dict[str, Any]] = field(default_factory=list)
    collected_refs: list[str] = field(default_factory=list)


@dataclass
class SendResult:
    """status: sent, skipped (reason), failed (reason) or deferred (retry_at)."""

    status: str
    reason: str = ""
    retry_at: str = ""
    provider_id: str = ""
    preview: str = ""
    locale: str = ""
    detail: str = ""


@dataclass
class PendingSend:
    """A send under way in a run (its activity out, or held by a quiet-hours deferral)."""

    key: str
    step: str
    channel: str
    template: str


@dataclass
class SendStop:
    """Stop a send whose run ended (goal, exit, cancel) while it was under way: the key and
    what the send log needs to record its fate."""

    key: str
    customer_id: str
    scenario: str
    step: str
    channel: str
    template: str
    now: str
    #: ``stopped_by_goal``, ``stopped_by_exit`` or ``stopped_by_cancel``.
    reason: str
    run_ref: str = ""
    version: str = ""


@dataclass
class EvalRequest:
    """Evaluate a condition (kind=condition), a moment in time (kind=time) or a local
    wall-clock moment (kind=local; ``expression`` is the date, "" for the next such time)."""

    kind: str
    expression: str
    customer_id: str
    event: dict[str, Any]
    trigger: dict[str, Any]
    engagement: dict[str, bool] = field(default_factory=dict)
    offset_s: int = 0
    #: kind=local: the wall-clock time (HH:MM) in the contact's zone, the calendar-day shift
    #: and the workflow's now (the activity's own clock is not the run's on a test server).
    clock: str = ""
    days: int = 0
    now: str = ""


@dataclass
class EvalResult:
    value: bool = False
    at: str = ""
    error: str = ""

"""A send request made whole: what the send activity renders, checks and records.

``SendRequest`` is the one dataclass the workflow hands the send activity, and its payload is in
workflow history, so it decodes every form a run ever recorded: revision 0 carried the
template's sources, the run, the trigger's and the latest event's data inline; revision 1 refers
to them (the template by scenario version, the trigger and a digest's events by stored event id,
the latest event left out when it is the trigger). ``resolve`` looks up what the request refers
to, once, at the activity's entry; everything after it works with a ``Send``, which has one
shape whatever the run's revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from temporalio.exceptions import ApplicationError

from orchestrator.engine.definitions import Definitions, UnknownVersion
from orchestrator.engine.messages import SendRequest
from orchestrator.language.model import ContentTemplate, FrequencyCap, QuietHours


@dataclass(frozen=True)
class Send:
    """One message to render and send, everything it needs in hand (never crosses the
    workflow boundary: ``SendRequest`` does)."""

    key: str
    scenario: str
    step: str
    channel: str
    template: str
    customer_id: str
    #: The run's clock (ISO 8601) when it asked for the send.
    now: str
    category: str
    topic: str
    #: The template's sources by locale ({} for a WhatsApp send of approved templates only).
    sources: dict[str, str]
    #: What templates see as ``run`` (its id, scenario and step).
    run: dict[str, Any]
    trigger: dict[str, Any]
    #: The latest event's data (the trigger's unless a later event came).
    event: dict[str, Any]
    #: The run (workflow id and run chain) the send belongs to: the send log's ``run``.
    run_ref: str
    version: str
    quiet_hours: QuietHours | None = None
    frequency_caps: list[FrequencyCap] = field(default_factory=list)
    preview: bool = False
    #: WhatsApp: the approved templates by locale.
    content: dict[str, ContentTemplate] = field(default_factory=dict)
    #: A ``collect`` step's events' data, newest first.
    collected: list[dict[str, Any]] = field(default_factory=list)


class EventData(Protocol):
    async def data_of(self, event_id: str) -> dict[str, Any] | None: ...


class TriggerGone(LookupError):
    """The stored trigger event's data is gone (the customer was erased)."""

    def __init__(self, send: Send) -> None:
        #: The send, with the trigger's data left empty: enough to record its skip.
        self.send = send
        super().__init__(send.key)


def _run_of(req: SendRequest) -> tuple[str, dict[str, Any]]:
    """The run's reference and template ``run``: carried (revision 0), or read from the key,
    ``<workflow id>/<chain>/g<generation>/<step path>/<channel>`` (revision 1)."""
    if req.run_ref or not req.by_version:
        return req.run_ref, req.run
    run_ref = req.key.rsplit("/", 3)[0]
    return run_ref, {"id": run_ref.rsplit("/", 1)[0], "scenario": req.scenario, "step": req.step}


async def resolve(req: SendRequest, definitions: Definitions, events: EventData | None) -> Send:
    """``req`` with what it refers to looked up; ``TriggerGone`` when its stored trigger was
    erased, an ``UnknownVersion`` ApplicationError (retried) when its version cannot be read."""
    run_ref, run = _run_of(req)
    send = Send(
        key=req.key,
        scenario=req.scenario,
        step=req.step,
        channel=req.channel,
        template=req.template,
        customer_id=req.customer_id,
        now=req.now,
        category=req.category,
        topic=req.topic,
        sources=req.sources,
        run=run,
        trigger=req.trigger,
        event=req.trigger if req.event is None else req.event,
        run_ref=run_ref,
        version=req.version,
        quiet_hours=req.quiet_hours,
        frequency_caps=list(req.frequency_caps),
        preview=req.preview,
        content=req.content,
        collected=list(req.collected),
    )
    if req.trigger_ref:
        found = await events.data_of(req.trigger_ref) if events is not None else None
        if found is None:
            raise TriggerGone(send)
        event = found if req.event is None else req.event
        send = replace(send, trigger=found, event=event)
    if req.by_version:
        try:
            sources = await definitions.sources(req.version, req.template, req.channel)
        except UnknownVersion:
            # Retried: the router stores a version before its first run starts, so this is a
            # store that cannot be read yet, not a version that never was.
            raise ApplicationError(
                f"scenario version {req.version} unknown here", type="UnknownVersion"
            ) from None
        send = replace(send, sources=sources)
    collected = list(send.collected)
    for ref in req.collected_refs:
        # An event erased since (its customer's data deleted) is left out of the digest.
        item = await events.data_of(ref) if events is not None else None
        if item is not None:
            collected.append(item)
    return replace(send, collected=collected)

"""POST /v1/events: one event or a batch, routed to every scenario and run it concerns."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError

from orchestrator.api.auth import Ingest, require_key
from orchestrator.api.models import (
    EventBatch,
    EventIn,
    EventResult,
    EventsAccepted,
    EventsBody,
)
from orchestrator.api.services import Services
from orchestrator.engine import metrics
from orchestrator.engine.contacts import ContactFields, ContactInvalid
from orchestrator.engine.invalid import FieldInvalid, Refused, pydantic_refusals
from orchestrator.engine.messages import EventSignal
from orchestrator.engine.router import Plan, Routed
from orchestrator.store.contact_writes import ContactWrite

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_key), Ingest])


async def services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency on a thread pool, a thread hop per request.
    svc: Services = request.app.state.services
    return svc


@router.post("/events", status_code=status.HTTP_202_ACCEPTED, response_model=EventsAccepted)
async def post_events(
    payload: EventsBody, svc: Annotated[Services, Depends(services)]
) -> EventsAccepted:
    """Accept events; the same ``event_id`` twice does nothing the second time."""
    events = payload.events if isinstance(payload, EventBatch) else [payload]
    contacts: dict[int, ContactWrite] = {}
    # Validate everything before changing anything: a bad batch is rejected whole.
    for i, ev in enumerate(events):
        if ev.contact is not None:
            try:
                # The body of PUT /v1/contacts, checked once; the store then says whether
                # this deployment may call its push endpoints (trusted origins).
                fields = ContactFields.model_validate(ev.contact)
                contacts[i] = svc.contacts.prepared(
                    ev.customer_id, fields, source=f"event:{ev.name}"
                )
            except ValidationError as exc:
                metrics.EVENTS.labels("rejected", "contact_invalid").inc(len(events))
                found = pydantic_refusals(exc.errors(), f"events[{i}].contact")
                raise Refused(found) from None
            except ContactInvalid as exc:
                metrics.EVENTS.labels("rejected", "contact_invalid").inc(len(events))
                raise exc.within(f"events[{i}].contact") from None
        if svc.settings.strict_events and not svc.router.knows(ev.name):
            metrics.EVENTS.labels("rejected", "unknown_event").inc(len(events))
            why = f"no scenario uses {ev.name!r} (strict mode)"
            raise FieldInvalid(f"events[{i}].name", "unknown_event", why)
        gaps = svc.router.warnings(ev.name, ev.data) if svc.settings.strict_events else []
        if gaps:
            why = f"{'; '.join(gaps)} (strict mode)"
            raise FieldInvalid(f"events[{i}].data", "missing_event_data", why)
    # Events of one customer keep their order; different customers are routed concurrently.
    by_customer: dict[str, list[int]] = {}
    for i, ev in enumerate(events):
        by_customer.setdefault(ev.customer_id, []).append(i)
    results: list[EventResult | None] = [None] * len(events)

    async def in_order(indexes: list[int]) -> None:
        for i in indexes:
            results[i] = await _one(events[i], svc, contacts.get(i))

    await asyncio.gather(*(in_order(ix) for ix in by_customer.values()))
    return EventsAccepted(results=[r for r in results if r is not None])


async def _one(ev: EventIn, svc: Services, contact: ContactWrite | None) -> EventResult:
    payload: dict[str, Any] = {
        "name": ev.name,
        "event_id": ev.event_id,
        "customer_id": ev.customer_id,
        "occurred_at": ev.occurred_at.isoformat() if ev.occurred_at else "",
        "data": ev.data,
        # As checked and normalised: what a relay applies again if this request cannot.
        "contact": (
            contact.fields.model_dump(mode="json", exclude_unset=True) if contact else None
        ),
    }
    signal = signal_of(payload)
    plan = svc.router.plan(signal)
    # One commit stores the event (the outbox) with its claim and the runs it will start,
    # before any side effect: from here on it is never lost, whatever crashes next.
    runs = [(wid, s.id, ev.customer_id) for s, _, wid in plan.starts]
    unknown = not svc.router.knows(ev.name)
    versions = {s.id: s.version for s, _, _ in plan.starts}
    warnings = svc.router.warnings(ev.name, ev.data)
    listening = frozenset(svc.router.listeners(ev.name))
    claimed = await svc.events.claim_routed(
        ev.event_id, ev.name, ev.customer_id, runs, payload, listening, contact
    )
    plan.listeners = claimed.listeners
    if not claimed.new:
        stored = await svc.events.get(ev.event_id)
        if stored is not None and not stored.delivered:
            # Still on its way (the first request, or a relay, is delivering it).
            metrics.EVENTS.labels("pending", "").inc()
            return EventResult(
                event_id=ev.event_id, status="pending", unknown_event=unknown, warnings=warnings
            )
        previous = stored.result if stored is not None else {}
        metrics.EVENTS.labels("duplicate", "").inc()
        log.info("event %s %s: duplicate", ev.name, ev.event_id, extra={"event_id": ev.event_id})
        return EventResult(
            event_id=ev.event_id,
            status="duplicate",
            runs=previous.get("runs", []),
            skipped=previous.get("skipped", []),
            unknown_event=unknown,
            versions=previous.get("versions", {}),
            warnings=warnings,
        )
    try:
        with metrics.ROUTING_SECONDS.time():
            routed = await deliver(svc, payload, plan, contact_applied=True)
    except (RPCError, OperationalError, TimeoutError) as exc:
        # Stored: a relay delivers it once Temporal (or the store) answers again.
        metrics.EVENTS.labels("pending", "temporal_unavailable").inc()
        log.warning("event %s stored, delivery pending: %s", ev.event_id, type(exc).__name__)
        await give_up(svc, ev.event_id)
        return EventResult(
            event_id=ev.event_id,
            status="pending",
            skipped=plan.skipped,
            unknown_event=unknown,
            versions=versions,
            warnings=warnings,
        )
    metrics.EVENTS.labels("accepted", "").inc()
    result = EventResult(
        event_id=ev.event_id,
        status="accepted",
        runs=routed.started_or_signalled + routed.signalled,
        skipped=routed.skipped,
        unknown_event=unknown,
        versions=versions,
        warnings=warnings,
    )
    log.info(
        "event %s %s routed to %d run(s)%s",
        ev.name,
        ev.event_id,
        len(result.runs),
        f"; skipped: {'; '.join(result.skipped)}" if result.skipped else "",
        extra={"event": ev.name, "event_id": ev.event_id, "runs": result.runs},
    )
    return result


def signal_of(payload: dict[str, Any]) -> EventSignal:
    return EventSignal(
        name=payload["name"],
        event_id=payload["event_id"],
        customer_id=payload["customer_id"],
        occurred_at=payload.get("occurred_at", ""),
        data=payload.get("data") or {},
        stored=True,
    )


async def deliver(
    svc: Services, payload: dict[str, Any], plan: Plan | None = None, contact_applied: bool = False
) -> Routed:
    """Apply a stored event: its contact fields (unless its claim did), then every run it
    concerns; then mark it delivered. Safe to repeat (contact upserts are idempotent and runs
    drop event ids they have seen), which is what lets a relay re-drive it after a crash."""
    signal = signal_of(payload)
    if payload.get("contact") is not None and not contact_applied:
        fields = ContactFields.model_validate(payload["contact"])
        write = svc.contacts.prepared(signal.customer_id, fields, source=f"event:{signal.name}")
        await svc.contacts.apply(write)
    plan = plan or svc.router.plan(signal)
    routed = await svc.router.route(signal, plan)
    result = {
        "runs": routed.started_or_signalled + routed.signalled,
        "skipped": routed.skipped,
        "versions": {s.id: s.version for s, _, _ in plan.starts},
    }
    await svc.events.delivered(signal.event_id, result)
    return routed


async def give_up(svc: Services, event_id: str) -> None:
    """A request could not deliver its stored event: it releases its lease, so the relay
    delivers it on its first round with Temporal answering instead of after the lease (timers
    that fell due in an outage fire the moment Temporal is back). If the store is down too,
    the lease runs out as usual."""
    try:
        await svc.events.release(event_id)
    except (OperationalError, TimeoutError) as exc:
        log.warning("event %s: lease not released: %s", event_id, type(exc).__name__)

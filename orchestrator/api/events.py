"""POST /v1/events: one event or a batch, routed to every scenario and run it concerns."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from temporalio.service import RPCError

from orchestrator.api.auth import require_key
from orchestrator.api.models import EventBatch, EventIn, EventResult, EventsAccepted
from orchestrator.api.services import Services
from orchestrator.engine.contacts import ContactInvalid
from orchestrator.engine.messages import EventSignal

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_key)])


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


@router.post("/events", status_code=status.HTTP_202_ACCEPTED, response_model=EventsAccepted)
async def post_events(
    payload: EventIn | EventBatch, svc: Annotated[Services, Depends(services)]
) -> EventsAccepted:
    """Accept events; the same ``event_id`` twice does nothing the second time."""
    events = payload.events if isinstance(payload, EventBatch) else [payload]
    # Validate everything before changing anything: a bad batch is rejected whole.
    for i, ev in enumerate(events):
        if ev.contact is not None:
            try:
                svc.contacts.validate({**ev.contact, "id": ev.customer_id})
            except ContactInvalid as exc:
                raise HTTPException(422, detail=f"events[{i}].contact: {exc}") from None
        if svc.settings.strict_events and not svc.router.knows(ev.name):
            raise HTTPException(
                422, detail=f"events[{i}].name: no scenario uses {ev.name!r} (strict mode)"
            )
        gaps = svc.router.warnings(ev.name, ev.data) if svc.settings.strict_events else []
        if gaps:
            detail = f"events[{i}].data: {'; '.join(gaps)} (strict mode)"
            raise HTTPException(422, detail=detail)
    # Events of one customer keep their order; different customers are routed concurrently.
    by_customer: dict[str, list[int]] = {}
    for i, ev in enumerate(events):
        by_customer.setdefault(ev.customer_id, []).append(i)
    results: list[EventResult | None] = [None] * len(events)

    async def in_order(indexes: list[int]) -> None:
        for i in indexes:
            results[i] = await _one(events[i], svc)

    await asyncio.gather(*(in_order(ix) for ix in by_customer.values()))
    return EventsAccepted(results=[r for r in results if r is not None])


async def _one(ev: EventIn, svc: Services) -> EventResult:
    signal = EventSignal(
        name=ev.name,
        event_id=ev.event_id,
        customer_id=ev.customer_id,
        occurred_at=ev.occurred_at.isoformat() if ev.occurred_at else "",
        data=ev.data,
    )
    plan = svc.router.plan(signal)
    # One commit claims the event id and indexes the runs it will start, before any side
    # effect: a crash after it leaves at worst index rows that the next signal cleans up.
    runs = [(wid, s.id, ev.customer_id) for s, _, wid in plan.starts]
    if not await svc.events.claim(ev.event_id, ev.name, ev.customer_id, runs):
        previous = await svc.events.result(ev.event_id)
        return EventResult(event_id=ev.event_id, status="duplicate", runs=previous.get("runs", []))
    try:
        if ev.contact is not None:
            await svc.contacts.upsert(
                {**ev.contact, "id": ev.customer_id}, source=f"event:{ev.name}"
            )
        routed = await svc.router.route(signal, plan)
    except RPCError as exc:
        await svc.events.release(ev.event_id)
        log.warning("routing %s failed: %s", ev.event_id, exc)
        raise HTTPException(
            503, detail="Temporal is unavailable; retry with the same event_id"
        ) from None
    except BaseException:
        await svc.events.release(ev.event_id)
        raise
    return EventResult(
        event_id=ev.event_id,
        status="accepted",
        runs=routed.started_or_signalled + routed.signalled,
        skipped=routed.skipped,
        unknown_event=not svc.router.knows(ev.name),
        warnings=svc.router.warnings(ev.name, ev.data),
    )

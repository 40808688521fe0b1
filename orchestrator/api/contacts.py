"""/v1/contacts: one profile per customer across channels; DELETE erases it (GDPR)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from temporalio.service import RPCError

from orchestrator.api.auth import Admin, Ingest, Read, require_key
from orchestrator.api.events import services
from orchestrator.api.models import ConsentIn
from orchestrator.api.services import Services
from orchestrator.engine.contacts import ContactFields, PushSubscription
from orchestrator.engine.invalid import FieldInvalid
from orchestrator.engine.text import CustomerId

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/contacts", tags=["contacts"], dependencies=[Depends(require_key)])
Svc = Annotated[Services, Depends(services)]


@router.put("/{contact_id:path}", dependencies=[Ingest])
async def put_contact(contact_id: CustomerId, body: ContactFields, svc: Svc) -> dict[str, Any]:
    """Create the contact or update the fields given (others keep their values)."""
    if body.id not in (None, contact_id):
        raise FieldInvalid("id", "id_mismatch", "the body's id differs from the URL's")
    contact = await svc.contacts.upsert(contact_id, body, source="api")
    return contact.public()


@router.get("/{contact_id:path}", dependencies=[Read])
async def get_contact(contact_id: CustomerId, svc: Svc) -> dict[str, Any]:
    contact = await svc.contacts.get(contact_id)
    if contact is None:
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    return {**contact.public(), "history": await svc.contacts.history(contact_id)}


@router.delete("/{contact_id:path}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Admin])
async def erase_contact(contact_id: CustomerId, svc: Svc) -> Response:
    """Erase the profile; suppressions stay as address hashes; running runs are cancelled."""
    for wid in await svc.runs.all_for_customer(contact_id):
        try:
            await svc.client.get_workflow_handle(wid).cancel()
        except RPCError as exc:  # already ended
            log.info("cancel %s: %s", wid, exc)
        await svc.runs.remove(wid)
    if not await svc.contacts.erase(contact_id):
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    await svc.send_log.forget_bodies(contact_id)
    return Response(status_code=204)


@router.post("/{contact_id:path}/consents", dependencies=[Ingest])
async def change_consent(contact_id: CustomerId, body: ConsentIn, svc: Svc) -> dict[str, Any]:
    if not await svc.contacts.set_consent(contact_id, body.channel, body.granted, body.source):
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    if not body.granted:
        await svc.contacts.suppress(contact_id, body.channel, "unsubscribed")
    contact = await svc.contacts.get(contact_id)
    assert contact is not None
    return contact.public()


@router.post("/{contact_id:path}/push-subscriptions", status_code=201, dependencies=[Ingest])
async def add_push_subscription(
    contact_id: CustomerId, body: PushSubscription, svc: Svc
) -> dict[str, Any]:
    if not await svc.contacts.add_push_subscription(contact_id, body):
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    return {"endpoint": body.endpoint}

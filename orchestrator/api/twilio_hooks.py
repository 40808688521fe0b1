"""Twilio webhooks: delivery status callbacks and inbound SMS (STOP/START/HELP and replies).

Both are verified with X-Twilio-Signature against the public URL Twilio called."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from orchestrator.api.events import services
from orchestrator.api.reactions import to_customer_runs
from orchestrator.api.services import Services

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
Svc = Annotated[Services, Depends(services)]

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}
HELP_TEXT = "Reply STOP to stop messages, START to receive them again."
# Error codes in a status callback that mean "never again on this number".
SUPPRESSING = {
    "21610": "stop",
    "21211": "invalid_address",
    "21614": "invalid_address",
    "30006": "invalid_address",
    "30005": "invalid_address",
}


async def verified_form(request: Request, svc: Services) -> dict[str, str]:
    token = svc.settings.twilio_auth_token
    if not token:
        raise HTTPException(404, detail="Twilio webhooks are not configured")
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = svc.settings.public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(token).validate(url, form, signature):
        raise HTTPException(403, detail="invalid X-Twilio-Signature")
    return form


def twiml(message: str | None = None) -> Response:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        media_type="application/xml",
    )


@router.post("/status")
async def status_callback(request: Request, svc: Svc) -> Response:
    form = await verified_form(request, svc)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    record = await svc.send_log.by_provider_id(sid)
    if record is None:
        return Response(status_code=204)  # not ours, or the log was erased
    now = datetime.now(UTC)
    if status == "delivered":
        await svc.send_log.mark(record.key, "delivered", now)
    elif status in ("failed", "undelivered"):
        code = form.get("ErrorCode", "")
        await svc.send_log.set_status(record.key, "failed", f"{status}: error {code}".strip())
        if code in SUPPRESSING:
            await svc.contacts.suppress(record.customer_id, "sms", SUPPRESSING[code])
    return Response(status_code=204)


@router.post("/inbound")
async def inbound(request: Request, svc: Svc) -> Response:
    form = await verified_form(request, svc)
    phone, text = form.get("From", ""), form.get("Body", "").strip()
    word = text.upper()
    customer = await svc.contacts.find("sms", phone)
    if word in HELP_WORDS:
        return twiml(HELP_TEXT)
    if customer is None:
        log.info("inbound SMS from an unknown number")
        return twiml()
    if word in STOP_WORDS:
        await svc.contacts.suppress(customer, "sms", "stop")
        return twiml()  # the carrier confirms the opt-out itself
    if word in START_WORDS:
        await svc.contacts.unsuppress(customer, "sms")
        return twiml("You will receive messages again. Reply STOP to stop.")
    await to_customer_runs(
        svc, customer, "message_replied", f"sms:{form.get('MessageSid', '')}", {"channel": "sms"}
    )
    return twiml()

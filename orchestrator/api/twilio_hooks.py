"""Twilio webhooks: delivery status callbacks and inbound SMS and WhatsApp messages
(STOP/START/HELP and replies; ``From=whatsapp:+...`` is WhatsApp, whose window they open).

Both are verified with X-Twilio-Signature against the public URL Twilio called."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from orchestrator.api.events import services
from orchestrator.api.reactions import reply_event
from orchestrator.api.services import Services
from orchestrator.engine.invalid import FieldInvalid
from orchestrator.engine.text import text_problem

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
Svc = Annotated[Services, Depends(services)]

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}
ACTIONS = {
    **dict.fromkeys(STOP_WORDS, "stop"),
    **dict.fromkeys(START_WORDS, "start"),
    **dict.fromkeys(HELP_WORDS, "help"),
}
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
    if token is None or not token.get_secret_value():
        raise HTTPException(404, detail="Twilio webhooks are not configured")
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = svc.settings.public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(token.get_secret_value()).validate(url, form, signature):
        raise HTTPException(403, detail="invalid X-Twilio-Signature")
    # Stored (sender, SID) and matched against contacts: text the stores keep.
    for name, value in form.items():
        problem = text_problem(value)
        if problem:
            raise FieldInvalid(name, "text", problem)
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
            await svc.contacts.suppress(record.customer_id, record.channel, SUPPRESSING[code])
    return Response(status_code=204)


@router.post("/inbound")
async def inbound(request: Request, svc: Svc) -> Response:
    """Each MessageSid is handled once: a replayed or retried request (a signed START resent
    after a later STOP, say) changes nothing. STOP/START apply in the order they arrive."""
    form = await verified_form(request, svc)
    sid = form.get("MessageSid", "")
    if not sid:
        raise HTTPException(400, detail="MessageSid missing")
    sender, word = form.get("From", ""), form.get("Body", "").strip().upper()
    # WhatsApp's keywords act on WhatsApp only: STOP there does not stop SMS, nor the reverse.
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    phone = sender.removeprefix("whatsapp:")
    action = ACTIONS.get(word, "reply")
    customer = await svc.contacts.find(channel, phone)
    if action == "reply" and customer is not None:
        # Stored before the message counts as handled: a failure here answers 5xx and
        # Twilio retries; the event id drops the repeat.
        await reply_event(svc, customer, f"{channel}:{sid}", channel)
    # Recorded for unknown numbers too: the time dates WhatsApp's window for that number.
    first = await svc.inbound.handle(
        sid=sid, channel=channel, address=phone, action=action, customer=customer
    )
    if action == "help":
        return twiml(HELP_TEXT)  # answering twice changes nothing
    if not first:
        log.info("inbound %s %s was already handled: ignored", channel, sid)
        return twiml()
    if customer is None:
        log.info("inbound %s from an unknown number", channel)
        return twiml()
    if action == "stop":
        return twiml()  # the carrier confirms the opt-out itself
    if action == "start":
        return twiml("You will receive messages again. Reply STOP to stop.")
    return twiml()

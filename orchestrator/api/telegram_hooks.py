"""Telegram: deep-link /start linking a chat to a customer, /stop, replies as reactions.

The same handler serves the webhook (secret-token header) and long polling (development)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from orchestrator.api.auth import Ingest
from orchestrator.api.events import services
from orchestrator.api.reactions import reply_event
from orchestrator.api.services import Services
from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.invalid import FieldInvalid
from orchestrator.engine.text import CustomerId
from orchestrator.engine.tracking import TokenError

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
Svc = Annotated[Services, Depends(services)]


async def handle_update(svc: Services, update: dict[str, Any]) -> str:
    """Apply one Bot API update; returns what was done (for logs and tests)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return "ignored: no update_id"
    mark = f"tg-update:{update_id}"
    if not await svc.tokens.first_use(mark):
        return "duplicate"
    try:
        return await _apply(svc, update, update_id)
    except BaseException:
        # Not applied: forget the update id so Telegram's retry is not taken for a repeat.
        await svc.tokens.forget(mark)
        raise


async def _apply(svc: Services, update: dict[str, Any], update_id: int) -> str:
    message = update.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_number = chat.get("id") if isinstance(chat, dict) else None
    text = message.get("text") if isinstance(message, dict) else None
    # Telegram's chat ids are integers and texts are strings: anything else is not an update
    # Telegram sent, and answering 200 keeps it from being retried.
    if not isinstance(chat_number, int) or isinstance(chat_number, bool):
        return "ignored: no chat"
    if not isinstance(text, str) or not text.strip():
        return "ignored: no text"
    text = text.strip()
    chat_id = str(chat_number)
    command, _, arg = text.partition(" ")
    command = command.split("@")[0].lower()
    if command == "/start" and arg and svc.tracker is not None:
        try:
            customer = svc.tracker.telegram_customer(arg.strip())
        except TokenError:
            return "refused: bad link"
        if not await svc.tokens.first_use(f"tg-link:{arg.strip()}"):
            return "refused: link already used"
        if await svc.contacts.get(customer) is None:
            return "refused: unknown customer"
        linked = ContactFields(telegram_chat_id=chat_id, consents={"telegram": True})
        await svc.contacts.upsert(customer, linked, source="telegram /start")
        await svc.contacts.unsuppress(customer, "telegram")
        return f"linked {customer}"
    known = await svc.contacts.find("telegram", chat_id)
    if known is None:
        return "ignored: unknown chat"
    customer = known
    if command == "/stop":
        await svc.contacts.suppress(customer, "telegram", "stop")
        return f"stopped {customer}"
    await reply_event(svc, customer, f"tg:{update_id}", "telegram")
    return f"reply from {customer}"


@router.post("/webhooks/telegram")
async def telegram_webhook(request: Request, svc: Svc) -> dict[str, str]:
    secret = svc.settings.telegram_secret_token
    if secret is None or not secret.get_secret_value():
        raise HTTPException(404, detail="the Telegram webhook is not configured")
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise HTTPException(403, detail="bad secret token")
    try:
        update = await request.json()
    except ValueError:
        raise FieldInvalid("body", "json_invalid", "not JSON") from None
    if not isinstance(update, dict):
        raise FieldInvalid("body", "dict_type", "an update is a JSON object")
    return {"result": await handle_update(svc, update)}


@router.post(
    "/v1/contacts/{contact_id:path}/telegram-link",
    tags=["contacts"],
    dependencies=[Ingest],
)
async def telegram_link(contact_id: CustomerId, svc: Svc) -> dict[str, str]:
    """A t.me deep link that connects the customer's Telegram chat when they press Start."""
    if svc.tracker is None or not svc.settings.telegram_bot_username:
        raise HTTPException(
            409,
            detail="set OMNI_TELEGRAM_BOT_USERNAME and the tracking secret to issue Telegram links",
        )
    if await svc.contacts.get(contact_id) is None:
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    try:
        url = svc.tracker.telegram_link(svc.settings.telegram_bot_username, contact_id)
    except ValueError as exc:
        raise FieldInvalid("contact_id", "telegram_start_too_long", str(exc)) from None
    return {"url": url}

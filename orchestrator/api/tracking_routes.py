"""Open pixel, click redirects and unsubscribe: open endpoints, guarded by signed tokens."""

from __future__ import annotations

import base64
import html
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from orchestrator.api.events import services
from orchestrator.api.reactions import to_run
from orchestrator.api.services import Services
from orchestrator.engine.text import id_problem
from orchestrator.engine.tracking import Claims, TokenError, TokenExpired, Tracker

log = logging.getLogger(__name__)
router = APIRouter(tags=["tracking"])
Svc = Annotated[Services, Depends(services)]
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
#: The short_links table's code column.
SHORT_CODE_MAX = 16
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width'></head><body style='font-family:"
        f"sans-serif;max-width:32em;margin:3em auto'><h1>{html.escape(title)}</h1>{body}"
        "</body></html>",
        status_code=status,
        headers=NO_STORE,
    )


def _tracker(svc: Services) -> Tracker:
    if svc.tracker is None:
        raise TokenError("tracking is not configured")
    return svc.tracker


def _bad(exc: TokenError) -> HTMLResponse:
    status = 410 if isinstance(exc, TokenExpired) else 404
    return page("Link not valid", f"<p>{html.escape(str(exc))}.</p>", status)


async def _react(svc: Services, claims: Claims, name: str, mark: str) -> None:
    """Record the first open/click on the message and tell its run (replays are dropped by
    the run: the event id is fixed per token)."""
    if claims.message_key:
        await svc.send_log.mark(claims.message_key, mark, datetime.now(UTC))
    if claims.run_id:
        await to_run(
            svc,
            claims.run_id,
            name,
            claims.event_id,
            claims.customer_id,
            {"channel": claims.channel, "message_key": claims.message_key, "url": claims.url},
        )


@router.get("/t/c/{token}", response_model=None)
async def click(token: str, svc: Svc) -> Response:
    try:
        claims = _tracker(svc).verify(token, "click")
    except TokenError as exc:
        return _bad(exc)
    await _react(svc, claims, "message_clicked", "clicked")
    return RedirectResponse(claims.url, status_code=302, headers=NO_STORE)


@router.get("/s/{code}", response_model=None)
async def short_click(code: str, svc: Svc) -> Response:
    """Short SMS links: the code names a signed click token, checked as usual."""
    # Not an id (NUL, too long for the column...): no link, and no lookup the store may refuse.
    token = None if id_problem(code, SHORT_CODE_MAX) else await svc.short_links.token(code)
    if token is None:
        return page("Link not valid", "<p>this link is not valid.</p>", 404)
    return await click(token, svc)


@router.get("/t/o/{token}", response_model=None)
async def opened(token: str, svc: Svc) -> Response:
    try:
        claims = _tracker(svc).verify(token, "open")
    except TokenError as exc:
        return _bad(exc)
    await _react(svc, claims, "message_opened", "opened")
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/u/{token}", response_model=None)
async def unsubscribe_page(token: str, svc: Svc) -> Response:
    try:
        claims = _tracker(svc).verify(token, "unsubscribe")
    except TokenError as exc:
        return _bad(exc)
    footer = html.escape(svc.settings.postal_address)
    channel = html.escape(claims.channel)
    return page(
        "Unsubscribe",
        f"<p>Stop marketing messages by {channel}? Messages you asked for, such as order "
        "confirmations and reminders you registered for, still reach you.</p>"
        "<form method='post'><button type='submit'>Unsubscribe from marketing</button></form>"
        "<form method='post'><input type='hidden' name='scope' value='all'>"
        f"<button type='submit'>Stop every message by {channel}</button></form>"
        f"<p><small>{footer}</small></p>",
    )


@router.post("/u/{token}", response_model=None)
async def unsubscribe(token: str, request: Request, svc: Svc) -> Response:
    """RFC 8058 one-click: a POST with ``List-Unsubscribe=One-Click``; no cookie, no login."""
    try:
        claims = _tracker(svc).verify(token, "unsubscribe")
    except TokenError as exc:
        return _bad(exc)
    form = await request.form() if "form" in request.headers.get("content-type", "") else {}
    everything = form.get("scope") == "all"
    reason = "unsubscribed_all" if everything else "unsubscribed"
    await svc.contacts.suppress(claims.customer_id, claims.channel, reason)
    await svc.contacts.set_consent(claims.customer_id, claims.channel, False, "unsubscribe link")
    log.info("customer unsubscribed from %s (%s)", claims.channel, reason)
    channel = html.escape(claims.channel)
    said = (
        f"You will get no more messages by {channel}, not even order confirmations."
        if everything
        else f"You will get no more marketing messages by {channel}. Messages you asked for, "
        "such as order confirmations, still reach you."
    )
    return page("You are unsubscribed", f"<p>{said}</p>")

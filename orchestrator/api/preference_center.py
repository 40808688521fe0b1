"""The customer's preference center: ``GET /p/<token>`` shows it, ``POST /p`` (the token in the
form) saves it. Open endpoints guarded by a signed, expiring token bound to one customer (no
customer id in the URL); a form from another origin is refused. Errors are calm pages.

Email links carry the token; SMS, Telegram and web push carry a short code in its place
(``/p/<code>``, stored with the token: ``orchestrator.store.links``). The page keeps whichever
it was opened with, in its form and in the address it redirects to after saving, so a short
link's token never shows in the customer's address bar."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from orchestrator.api.events import services
from orchestrator.api.preference_page import error_page, form_page, language
from orchestrator.api.preferences import shop_topics, store
from orchestrator.api.services import Services
from orchestrator.api.tracking_routes import SHORT_CODE_MAX
from orchestrator.engine.preferences import (
    PAUSES,
    SOURCE,
    PreferencesInvalid,
    checked_change,
)
from orchestrator.engine.text import id_problem
from orchestrator.engine.tracking import Claims, TokenError, TokenExpired
from orchestrator.language.model import CHANNELS
from orchestrator.store.preferences import Profile

log = logging.getLogger(__name__)
router = APIRouter(tags=["preference center"])
Svc = Annotated[Services, Depends(services)]
HEADERS = {
    "Cache-Control": "no-store, private",
    # Not no-referrer: browsers then post the form with "Origin: null", which the origin check
    # refuses. same-origin still never tells another site the page's URL (its token).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


class Refused(Exception):
    def __init__(self, key: str, status: int) -> None:
        self.key, self.status = key, status


async def _token(svc: Services, link: str) -> str:
    """The signed token a link stands for: itself (email), or the one the store keeps for a
    short code (SMS, Telegram, web push; a code has no dot, a token always has one)."""
    if "." in link:
        return link
    # Not a code (NUL, too long for the column...): no lookup the store may refuse.
    found = None if id_problem(link, SHORT_CODE_MAX) else await svc.short_links.token(link)
    if found is None:
        raise Refused("bad_invalid", 404)
    return found


async def _open(svc: Services, link: str) -> tuple[Claims, Profile]:
    """The link's customer, or Refused: unknown, tampered, expired, or a profile that is not
    the one the link was made for (erased, or erased and created again under the same id).
    ``link`` is a token or a short code standing for one."""
    if svc.tracker is None:
        raise Refused("bad_invalid", 404)
    token = await _token(svc, link)
    try:
        claims = svc.tracker.verify(token, "preferences")
    except TokenExpired:
        raise Refused("bad_expired", 410) from None
    except TokenError:
        raise Refused("bad_invalid", 404) from None
    made = claims.message_key[1:]
    if not claims.message_key.startswith("t") or not made.isdigit():
        raise Refused("bad_invalid", 404)
    profile = await store(svc).profile(claims.customer_id)
    if profile is None or profile.created_at.timestamp() * 1000 > int(made):
        raise Refused("bad_gone", 404)
    return claims, profile


def _refused(svc: Services, request: Request, exc: Refused) -> HTMLResponse:
    lang = language(request.headers.get("accept-language"))
    return _html(error_page(lang, exc.key, svc.settings.postal_address), exc.status)


@router.get("/p/{token}", response_model=None)
async def show(token: str, request: Request, svc: Svc) -> Response:
    try:
        _claims, profile = await _open(svc, token)
    except Refused as exc:
        return _refused(svc, request, exc)
    lang = language(profile.contact.locale, request.headers.get("accept-language"))
    page = form_page(
        lang,
        profile=profile,
        topics=shop_topics(svc)[0],
        token=token,
        now=datetime.now(UTC),
        saved=request.query_params.get("saved") == "1",
        footer=svc.settings.postal_address,
    )
    return _html(page)


def _same_origin(svc: Services, request: Request) -> bool:
    """A browser names the page a form came from: refuse another site's (no cookie guards
    this form, the token does; this keeps a leaked page from being replayed cross-site)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    assert svc.tracker is not None
    ours = urlparse(svc.tracker.base_url)
    return origin == f"{ours.scheme}://{ours.netloc}"


@router.post("/p", response_model=None)
async def save(request: Request, svc: Svc) -> Response:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _refused(svc, request, Refused("bad_form", 415))
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str):
        return _refused(svc, request, Refused("bad_invalid", 404))
    try:
        claims, profile = await _open(svc, token)
    except Refused as exc:
        return _refused(svc, request, exc)
    lang = language(profile.contact.locale, request.headers.get("accept-language"))
    if not _same_origin(svc, request):
        footer = svc.settings.postal_address
        return _html(error_page(lang, "bad_origin", footer), 403)
    now = datetime.now(UTC)
    checked = {str(v) for v in form.getlist("channel")}
    on_topics = {str(v) for v in form.getlist("topic")}
    data: dict[str, object] = {
        "channels": {
            str(c): str(c) in checked for c in form.getlist("shown") if str(c) in CHANNELS
        },
        "topics": {str(t): str(t) in on_topics for t in form.getlist("shown_topic")},
    }
    if "preferred" in form:
        data["preferred_channel"] = str(form.get("preferred") or "")
    pause = str(form.get("pause") or "keep")
    if pause in PAUSES:
        data["paused_until"] = (now + PAUSES[pause]).isoformat()
    elif pause == "resume":
        data["paused_until"] = None
    topics, switchable = shop_topics(svc)
    try:
        change = checked_change(data, topics=set(topics), switchable=switchable, now=now)
    except PreferencesInvalid:
        return _html(error_page(lang, "bad_form", svc.settings.postal_address), 422)
    done = await store(svc).change(claims.customer_id, change, actor=SOURCE, now=now)
    if done is None:  # erased between the check and the write
        return _html(error_page(lang, "bad_gone", svc.settings.postal_address), 404)
    log.info("preference center: %d change(s)", len(done))
    return RedirectResponse(f"/p/{token}?saved=1", status_code=303, headers=HEADERS)

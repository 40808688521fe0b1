"""Messages as the customer saw them, and the customer's actions on them wired to Omni's real
tracking: the open pixel and tracked links are fetched by the marketer's browser from the
tracking endpoints, unsubscribing goes through the customer's own unsubscribe page, and a reply
takes the path the Telegram and Twilio webhooks take."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from orchestrator.api.reactions import reply_event
from orchestrator.console.auth import Session, checked_form, console_of, require_session
from orchestrator.console.refs import unref
from orchestrator.console.render import HEADERS, page
from orchestrator.console.sanitize import linkify, telegram_html
from orchestrator.console.state import Console
from orchestrator.console.words import outcome_counts
from orchestrator.store.message_views import LoggedMessage

router = APIRouter(include_in_schema=False)
Login = Annotated[Session, Depends(require_session)]


def shown(message: dict[str, Any]) -> dict[str, Any]:
    """What the templates draw for a rendered message (a ``Rendered`` as a dict)."""
    out = dict(message)
    out["srcdoc"] = '<base target="_blank">' + str(message.get("html", ""))
    out["telegram_html"] = telegram_html(str(message.get("text", "")))
    out["sms_html"] = linkify(str(message.get("text", "")))
    return out


def _local(console: Console, url: str) -> str:
    """Tracking URLs point at this very server: as paths they load under the console's CSP."""
    tracker = console.svc.tracker
    if tracker is not None and url.startswith(tracker.base_url + "/"):
        return url[len(tracker.base_url) :]
    return url


def customer_urls(console: Console, m: LoggedMessage) -> dict[str, str]:
    tracker = console.svc.tracker
    if tracker is None or m.test or not m.customer_id:
        return {}
    urls = {
        "unsubscribe": _local(
            console,
            tracker.unsubscribe_url(
                customer_id=m.customer_id,
                channel=m.channel,
                message_key=m.key,
                run_id=m.workflow_id,
            ),
        )
    }
    if m.channel == "email":
        urls["pixel"] = _local(
            console,
            tracker.pixel_url(run_id=m.workflow_id, message_key=m.key, customer_id=m.customer_id),
        )
    return urls


@router.get("/console/messages")
async def messages(request: Request, _: Login, scenario: str = "") -> Response:
    console = console_of(request)
    found = await console.messages.recent(scenario=scenario, limit=200)
    names = sorted(console.svc.router.scenarios)
    return page(
        request,
        "messages.html",
        messages=found,
        counts=outcome_counts(found),
        scenario=scenario,
        scenarios=names,
    )


async def _message(request: Request, token: str) -> LoggedMessage:
    console = console_of(request)
    key = unref(console, "message", token)
    found = await console.messages.one(key) if key else None
    if found is None:
        raise HTTPException(404, detail="no such message (or the link has expired)")
    return found


async def _show(request: Request, token: str, *, opened: bool = False, done: str = "") -> Response:
    console = console_of(request)
    m = await _message(request, token)
    rendered = shown(json.loads(m.body)) if m.body else None
    return page(
        request,
        "message.html",
        m=m,
        token=token,
        rendered=rendered,
        urls=customer_urls(console, m),
        opened=opened,
        done=done,
    )


@router.get("/console/messages/{token}")
async def message(request: Request, token: str, _: Login, done: str = "") -> Response:
    return await _show(request, token, done=done)


@router.post("/console/messages/{token}/open")
async def open_message(request: Request, token: str) -> Response:
    """The page again, with the message's open pixel: the browser fetches it from /t/o/."""
    await checked_form(request)
    return await _show(request, token, opened=True)


@router.post("/console/messages/{token}/reply")
async def reply(request: Request, token: str) -> Response:
    await checked_form(request)
    console = console_of(request)
    m = await _message(request, token)
    await reply_event(console.svc, m.customer_id, f"console:{uuid.uuid4()}", m.channel, m.key)
    return RedirectResponse(
        f"/console/messages/{token}?done=reply", status_code=303, headers=HEADERS
    )

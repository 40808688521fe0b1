"""Messages as the customer saw them, and the customer's actions on them wired to Omni's real
tracking: the open pixel and tracked links are fetched by the marketer's browser from the
tracking endpoints, unsubscribing goes through the customer's own unsubscribe page, and a reply
takes the path the Telegram and Twilio webhooks take."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from orchestrator.api.reactions import reply_event
from orchestrator.console.auth import Session, checked_form, console_of, require_session
from orchestrator.console.refs import unref
from orchestrator.console.render import HEADERS, page
from orchestrator.console.sanitize import linkify, telegram_html
from orchestrator.console.state import Console
from orchestrator.console.words import PERIODS, fate_chips, hold_chips
from orchestrator.store.message_views import LoggedMessage, Wanted

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


@dataclass(frozen=True)
class ChipLink:
    """What a count links to: Messages of the same scenario and period, for its reason."""

    scenario: str
    days: str
    #: The reason shown now ("" for every message).
    reason: str

    def href(self, reason: str) -> str:
        query = {"scenario": self.scenario, "days": self.days, "reason": reason}
        return "/console/messages?" + urlencode({k: v for k, v in query.items() if v})


@router.get("/console/messages")
async def messages(
    request: Request, _: Login, scenario: str = "", days: str = "7", reason: str = ""
) -> Response:
    """The latest messages of a period, optionally of one scenario and one skip or hold
    reason; the counts above them are the database's, over the whole period."""
    console = console_of(request)
    days = days if days in PERIODS else "7"
    since = datetime.now(UTC) - timedelta(days=int(days))
    period = Wanted(scenario=scenario, since=since)
    fates = await console.messages.fates(period)
    found = await console.messages.recent(replace(period, reason=reason), limit=200)
    reasons = sorted({c.reason for c in fate_chips(fates) + hold_chips(fates) if c.reason})
    if reason and reason not in reasons:
        reasons.append(reason)
    return page(
        request,
        "messages.html",
        messages=found,
        counts=fate_chips(fates),
        holds=hold_chips(fates),
        scenario=scenario,
        scenarios=sorted(console.svc.router.scenarios),
        days=days,
        periods=PERIODS,
        reason=reason,
        reasons=reasons,
        link=ChipLink(scenario, days, reason),
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
    # Whether the customer still takes this channel: what "Unsubscribe page" changes.
    history = await console.svc.contacts.history(m.customer_id) if m.customer_id else {}
    return page(
        request,
        "message.html",
        m=m,
        token=token,
        rendered=rendered,
        urls=customer_urls(console, m),
        opened=opened,
        done=done,
        suppressed=history.get("suppressions", {}).get(m.channel),
        consent=history.get("consents", {}).get(m.channel),
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

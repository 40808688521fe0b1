"""Rendering one message for the send activity: its links, its template context, and the
render itself, which runs in a worker thread so that a slow template never stalls the worker's
event loop (other activities, heartbeats and workflow tasks keep running meanwhile).

The render bounds itself (``orchestrator.language.limits``: it checks the clock as it goes); the
timeout here is only a backstop for a single operation that overran.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from channels.base import Rendered
from channels.segments import segments
from orchestrator.engine.contacts import Contact
from orchestrator.engine.resolve import Send
from orchestrator.engine.tracking import Tracker
from orchestrator.language.content_templates import content_message
from orchestrator.language.limits import TEMPLATE_LIMITS, Limits
from orchestrator.language.templates import TemplateProblem, message_context, pick_locale, render

T = TypeVar("T")
#: Threads that render templates and evaluate conditions; separate from the loop's default
#: executor, which DNS lookups use.
WORKERS = 4
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="omni-render")
    return _pool


async def off_loop(func: Callable[..., T], *args: Any, timeout: float, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in a render thread; TimeoutError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    job = loop.run_in_executor(_executor(), partial(func, *args, **kwargs))
    return await asyncio.wait_for(job, timeout=timeout)


class ShortLinks(Protocol):
    async def save(self, pairs: list[tuple[str, str]], customer_id: str = "") -> None:
        """Store (code, token) pairs of ``customer_id``'s message (erasure deletes them)."""
        ...


def _identity(url: str) -> str:
    return url


def _shortened(
    link: Callable[[str], str], base_url: str, pending: list[tuple[str, str]]
) -> Callable[[str], str]:
    """SMS links as ``/s/<8 characters>``: a full signed token would cost extra segments."""

    def short(url: str) -> str:
        tracked = link(url)
        if tracked == url:
            return url
        code = secrets.token_urlsafe(6)
        pending.append((code, tracked.rsplit("/", 1)[1]))
        return f"{base_url}/s/{code}"

    return short


#: Channels whose marketing messages carry the preference center as a short link (email has
#: its footer, with the token in the URL; WhatsApp's approved templates take no extra text).
SHORT_PREFERENCES = ("sms", "telegram", "push")


@dataclass
class Composed:
    message: Rendered
    locale: str
    #: Short codes to store before sending: (code, click token) for SMS links, and (code,
    #: preferences token) for the preference center's link.
    short: list[tuple[str, str]] = field(default_factory=list)
    #: The preference center's short link for the adapter to add (``channels.preferences``).
    preferences_url: str = ""


def preference_link(
    req: Send, tracker: Tracker | None, *, shorten: bool, short: list[tuple[str, str]]
) -> str:
    """The preference center's short link of a marketing SMS, Telegram message or web push
    (its code appended to ``short``), or "" for other messages. A link to a page, not a
    tracked click: opening it is no reaction to the message."""
    if tracker is None or not shorten or req.category != "marketing":
        return ""
    if req.channel not in SHORT_PREFERENCES:
        return ""
    url, code, token = tracker.short_preferences(customer_id=req.customer_id, channel=req.channel)
    short.append((code, token))
    return url


async def compose(
    req: Send,
    contact: Contact,
    *,
    timezone: str,
    tracker: Tracker | None,
    shorten: bool,
    limits: Limits = TEMPLATE_LIMITS,
    content: bool = False,
) -> Composed:
    """The rendered message in the contact's locale; TemplateProblem when it cannot render.
    ``content``: WhatsApp's approved template with its variables filled, not the free text."""
    locale = pick_locale(req.content if content else req.sources, contact.locale)
    link: Callable[[str], str] = _identity
    short: list[tuple[str, str]] = []
    if tracker is not None:
        link = tracker.link(
            run_id=str(req.run.get("id", "")),
            message_key=req.key,
            customer_id=req.customer_id,
            channel=req.channel,
        )
        if req.channel == "sms" and shorten:
            link = _shortened(link, tracker.base_url, short)
    context = message_context(
        contact=contact.public(),
        trigger=req.trigger,
        event=req.event,
        run=req.run,
        timezone=timezone,
        link=link,
        collected=req.collected,
    )
    try:
        if content:
            message = await off_loop(
                content_message,
                req.content[locale],
                context,
                locale=locale,
                limits=limits,
                timeout=limits.max_seconds + 5,
            )
        else:
            message = await off_loop(
                render,
                req.channel,
                req.sources[locale],
                context,
                locale=locale,
                filename=f"{req.template}/{req.channel}",
                limits=limits,
                timeout=limits.max_seconds + 5,
            )
    except TimeoutError:
        raise TemplateProblem(
            f"time limit exceeded: rendering took longer than {limits.max_seconds:g} s",
            limit="time",
        ) from None
    preferences = preference_link(req, tracker, shorten=shorten, short=short)
    return Composed(message, locale, short, preferences)


def email_urls(tracker: Tracker | None, req: Send) -> dict[str, str]:
    """The open pixel and the preference center, and for marketing the one-click
    unsubscribe URL, of an email."""
    if tracker is None or req.channel != "email":
        return {}
    urls = {
        "open_pixel_url": tracker.pixel_url(
            run_id=str(req.run.get("id", "")), message_key=req.key, customer_id=req.customer_id
        ),
        "preferences_url": tracker.preferences_url(customer_id=req.customer_id, channel="email"),
    }
    if req.category == "marketing":
        urls["unsubscribe_url"] = tracker.unsubscribe_url(
            customer_id=req.customer_id,
            channel="email",
            message_key=req.key,
            run_id=str(req.run.get("id", "")),
        )
    return urls


def facts(channel: str, message: Rendered) -> str:
    """What a message costs, for the simulator: SMS segments; which WhatsApp message went."""
    if channel == "sms":
        return str(segments(message.text))
    if channel == "whatsapp" and message.content_sid:
        count = len(message.content_variables)
        return f"approved template {message.content_sid}, {count} variable(s)"
    if channel == "whatsapp":
        return f"free text in the 24 h window, {len(message.text):,} characters"
    return ""

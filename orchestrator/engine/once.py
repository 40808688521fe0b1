"""Each message once: what a send does when an earlier attempt may have reached the provider.

Right before the provider can receive the message — after the adapter waited for its rate
limit and its connection (``Outbound.handing_over``) — the send log records the intent
(``sending``); after the provider answers, the outcome (``sent``). A message still queued in
the adapter when its worker dies has no intent and is simply sent by the retry. An attempt
that finds ``sending`` knows an earlier attempt died between the two — the provider may or
may not have the message:

- a channel that can look a message up (``find_sent``, e.g. Twilio's Messages list) is asked,
  and a message it knows is recorded as sent, not sent again;
- otherwise a **marketing** message is not sent again (at most once): it is recorded as
  ``uncertain``;
- a **transactional** message is sent again (at least once): a duplicate beats a lost receipt.

A failed log write after the provider accepted retries the write, not the send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio import activity

from channels.base import FindsSent

T = TypeVar("T")

SENDING = "sending"
UNCERTAIN = "uncertain"
#: The send log write after an accepted send: attempts and the pause between them (seconds).
WRITE_ATTEMPTS = 6
WRITE_PAUSE = 0.5


class Handover:
    """Whether a send has begun its handover. Before it, a cancelled send simply stops (the
    provider has nothing); from it on, the send runs to its end even when its activity is
    cancelled: the provider has, or is getting, the message, and stopping halfway would
    leave the send log without its answer and a shared connection mid-transaction."""

    def __init__(self) -> None:
        self.begun = False


async def heartbeating(
    work: Awaitable[T], every: float = 2.0, *, handover: Handover | None = None
) -> T:
    """Await ``work`` while telling Temporal the worker is alive: a worker that dies mid-send
    is noticed within the heartbeat timeout (seconds), not the activity timeout (minutes).
    A cancel (the run ended, see workflow.py) stops ``work`` unless its ``handover`` began."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            try:
                done, _ = await asyncio.wait({task}, timeout=every)
            except asyncio.CancelledError:
                if handover is None or not handover.begun:
                    raise
                continue  # past the handover: finish, and report what the provider said
            if done:
                return task.result()
            with contextlib.suppress(RuntimeError):  # not inside an activity (direct calls)
                activity.heartbeat()
    finally:
        task.cancel()  # no-op when done; a cancelled activity stops its work too


async def written(write: Callable[[], Awaitable[None]]) -> None:
    """Retry a send-log write: the provider already has the message, so the write is what
    must not fail (an activity retry would otherwise have to guess)."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            await write()
            return
        except Exception:
            if attempt == WRITE_ATTEMPTS:
                raise
            await asyncio.sleep(WRITE_PAUSE * attempt)


async def earlier_delivery(channel: FindsSent | None, address: Any, since: datetime) -> str | None:
    """The provider id of a message an earlier attempt handed over, if the channel can tell
    (``None``: a channel that cannot look messages up)."""
    return None if channel is None else await channel.find_sent(address, since)


def once_only(work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """``work`` done by the first call; later and concurrent calls wait for it."""
    lock = asyncio.Lock()
    done = False

    async def call() -> None:
        nonlocal done
        async with lock:
            if not done:
                await work()
                done = True

    return call


def resend_allowed(category: str) -> bool:
    """Without a way to look it up: at most once for marketing, at least once otherwise."""
    return category != "marketing"

"""bench/day.py's providers and customers: the four peers, what reached them per customer and
channel, and customers reacting to it as customers do (opens, clicks and one-click
unsubscribes by the email's own links, replies by a Telegram update to the webhook)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer

from bench.day_mix import Customer

CHANNELS = ("email", "push", "telegram", "sms")
TG_SECRET = "day-telegram-secret"
#: Shares of the messages customers react to.
OPEN, CLICK, UNSUBSCRIBE, REPLY = 0.30, 0.08, 0.005, 0.05
#: How long after a message a customer reacts: up to half an hour, in shop seconds.
REACT_WITHIN = 1_800.0


@dataclass
class Peers:
    """The providers' peers, and what reached them per customer and channel."""

    smtp: SmtpPeer = field(default_factory=SmtpPeer)
    push: PushService = field(default_factory=PushService)
    telegram: TelegramPeer = field(default_factory=TelegramPeer)
    twilio: TwilioPeer = field(default_factory=TwilioPeer)
    got: Counter[tuple[str, str]] = field(default_factory=Counter)
    message_ids: Counter[str] = field(default_factory=Counter)
    #: Address -> customer, per channel.
    owner: dict[str, dict[str, str]] = field(default_factory=lambda: {c: {} for c in CHANNELS})

    def know(self, c: Customer) -> None:
        for channel, address in zip(CHANNELS, (c.email, c.device, c.chat, c.phone), strict=True):
            if address:
                self.owner[channel][address] = c.id

    def take(self) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """Count what arrived since the last call and drop it (a day's mail would not fit in
        memory): (emails, telegram messages) with their customer, for the reactions."""
        emails, chats = [], []
        received = self.smtp.received  # appended by the SMTP server's thread: take a prefix
        batch = received[: len(received)]
        del received[: len(batch)]
        for m in batch:
            for r in m.recipients:
                if (who := self.owner["email"].get(r)) is not None:
                    self.got[(who, "email")] += 1
                    msg = m.message
                    self.message_ids[str(msg["Message-ID"])] += 1
                    emails.append((who, msg))
        for item in _drain(self.push.received):
            if (who := self.owner["push"].get(item["device"])) is not None:
                self.got[(who, "push")] += 1
        for item in _drain(self.telegram.sent):
            if (who := self.owner["telegram"].get(str(item["chat_id"]))) is not None:
                self.got[(who, "telegram")] += 1
                chats.append((who, item))
        for item in _drain(self.twilio.messages):
            if (who := self.owner["sms"].get(item["To"])) is not None:
                self.got[(who, "sms")] += 1
        return emails, chats


def _drain(items: list[Any]) -> list[Any]:
    batch = items[: len(items)]
    del items[: len(batch)]
    return batch


class Reactions:
    """Customers reacting to what reached them: opens, clicks and unsubscribes by the email's
    own links, replies by a Telegram update to the webhook."""

    def __init__(self, base: str, clock: float, seed: int) -> None:
        self.base, self.clock = base, clock
        self.rng = random.Random(seed + 2)
        self.done: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(timeout=30)
        self.update_id = 0

    def react(self, emails: list[tuple[str, Any]], chats: list[tuple[str, Any]]) -> None:
        for _, msg in emails:
            html = msg.get_body(("html",))
            body = html.get_content() if html is not None else ""
            roll = self.rng.random()
            if roll < OPEN and (pixel := _link(body, "/t/o/")):
                self.later("opened", "GET", pixel)
            if roll < CLICK and (link := _link(body, "/t/c/")):
                self.later("clicked", "GET", link)
            header = str(msg.get("List-Unsubscribe", ""))
            if self.rng.random() < UNSUBSCRIBE and (url := _link(header, "/u/")):
                self.later("unsubscribed", "POST", url, {"List-Unsubscribe": "One-Click"})
        for _, item in chats:
            if self.rng.random() < REPLY:
                self.update_id += 1
                chat = int(item["chat_id"])
                update = {
                    "update_id": self.update_id,
                    "message": {
                        "message_id": self.update_id,
                        "date": int(time.time()),
                        "chat": {"id": chat, "type": "private"},
                        "text": "Thanks, on my way!",
                    },
                }
                self.later("replied", "POST", f"{self.base}/webhooks/telegram", json=update)

    def later(self, kind: str, method: str, url: str, form: Any = None, json: Any = None) -> None:
        delay = self.rng.uniform(0, REACT_WITHIN) / self.clock

        async def go() -> None:
            await asyncio.sleep(delay)
            headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET} if json else {}
            answer = await self.http.request(method, url, data=form, json=json, headers=headers)
            self.done[f"{kind} {answer.status_code // 100}xx"] += 1

        task = asyncio.create_task(go())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        await self.http.aclose()


def _link(body: str, path: str) -> str:
    found = re.search(r"(https?://[^\s\"'<>]+" + re.escape(path) + r"[^\s\"'<>]+)", body)
    return found.group(1).replace("&amp;", "&") if found else ""

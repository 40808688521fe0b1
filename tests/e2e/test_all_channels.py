"""The abandoned-cart ladder across four real local peers: SMTP, a Web Push service, the
Telegram Bot API and the Twilio API, on a Temporal dev server, through the HTTP API."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import Running, local, running_stack
from peers.providers import four_providers
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.testing import WorkflowEnvironment

LADDER = """
scenario: cart4
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
steps:
  - wait: 1s
  - escalate:
      - email: cart4/reminder
        wait: 2s
      - push: cart4/reminder
        wait: 1s
      - telegram: cart4/reminder
        wait: 1s
      - sms: cart4/reminder
sample:
  cart_updated: {cart: {id: c-1, url: "https://shop.example/cart"}}
"""
TEMPLATES = {
    "cart4/reminder/email": "{% block subject %}Your cart{% endblock %}"
    '{% block html %}<p><a href="{{ link(cart.url) }}">Back to your cart</a></p>{% endblock %}',
    "cart4/reminder/push": "{% block title %}Your cart{% endblock %}"
    "{% block body %}Still there{% endblock %}{% block url %}{{ link(cart.url) }}{% endblock %}",
    "cart4/reminder/telegram": "{% block text %}<b>Your cart</b>{% endblock %}"
    "{% block buttons %}Open | {{ link(cart.url) }}{% endblock %}",
    "cart4/reminder/sms": "{% block text %}Your cart: {{ link(cart.url) }}{% endblock %}",
}


@dataclass
class Peers:
    run: Running
    smtp: SmtpPeer
    push: PushService
    telegram: TelegramPeer
    twilio: TwilioPeer

    async def trigger(self, cart: str, subscription: dict[str, Any]) -> str:
        contact = {
            "email": "alex@example.com",
            "phone": "+15005550006",
            "telegram_chat_id": "555",
            "push_subscriptions": [subscription],
            "consents": {"email": True, "push": True, "telegram": True, "sms": True},
        }
        await self.run.post_event(
            {
                "name": "cart_updated",
                "customer_id": "c4",
                "event_id": f"{cart}-t",
                "data": {"cart": {"id": cart, "url": "https://shop.example/cart"}},
                "contact": contact,
            }
        )
        return f"cart4/customer-c4/cart-{cart}"


@pytest.fixture
async def peers(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Peers]:
    async with (
        four_providers() as p,
        running_stack(
            dev_env, tmp_path, LADDER, TEMPLATES, p.channels, trusted_push=(p.push_base,)
        ) as run,
    ):
        yield Peers(run, p.smtp, p.push, p.telegram, p.twilio)
    assert p.violations() == []


async def test_nobody_reacts_email_push_telegram_sms_in_order(peers: Peers) -> None:
    cart = f"c-{uuid.uuid4().hex[:8]}"
    wid = await peers.trigger(cart, peers.push.subscribe(f"dev-{cart}"))
    state = await peers.run.result(wid)
    sent = [(m["channel"], m["status"]) for m in state["messages"]]
    assert sent == [("email", "sent"), ("push", "sent"), ("telegram", "sent"), ("sms", "sent")]
    times = [m["at"] for m in state["messages"]]
    assert times == sorted(times)
    assert len(peers.smtp.received) == 1
    assert peers.push.received[0]["payload"]["title"] == "Your cart"
    # Marketing: the preference center's short link under the Telegram text and the SMS,
    # as an action on the push (tests/e2e/test_preference_links.py opens them).
    assert re.fullmatch(
        r'<b>Your cart</b>\n\n<a href="http://127\.0\.0\.1:\d+/p/[\w-]{12}">Preferences</a>',
        peers.telegram.sent[0]["text"],
    )
    assert peers.push.received[0]["payload"]["actions"][0]["action"] == "preferences"
    assert peers.twilio.messages[0]["To"] == "+15005550006"
    assert "/s/" in peers.twilio.messages[0]["Body"]
    assert "\nPreferences: http://127.0.0.1:" in peers.twilio.messages[0]["Body"]


async def test_clicking_the_email_link_stops_after_the_first_channel(peers: Peers) -> None:
    cart = f"c-{uuid.uuid4().hex[:8]}"
    wid = await peers.trigger(cart, peers.push.subscribe(f"dev-{cart}"))
    for _ in range(200):
        if peers.smtp.received:
            break
        await asyncio.sleep(0.05)
    html = peers.smtp.received[0].body()
    link = re.search(r'href="(http://127\.0\.0\.1:\d+/t/c/[^"]+)"', html)
    assert link is not None
    click = await peers.run.http.get(local(link.group(1)))
    assert click.status_code == 302 and click.headers["location"] == "https://shop.example/cart"
    state = await peers.run.result(wid)
    assert [m["channel"] for m in state["messages"]] == ["email"]
    assert state["engagement"]["clicked"] is True
    assert peers.push.received == [] and peers.telegram.sent == [] and peers.twilio.messages == []

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

import aiohttp
import pytest
from e2e_stack import Running, local, running_stack
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.testing import WorkflowEnvironment

from channels.base import Channel
from channels.email import EmailChannel, EmailSettings
from channels.push import PushChannel, PushSettings
from channels.sms import SmsChannel, SmsSettings, twilio_client
from channels.telegram import TelegramChannel, TelegramSettings, telegram_bot
from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import serving

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
    push, telegram, twilio = PushService(), TelegramPeer(), TwilioPeer()
    private, _ = generate_vapid_keys()
    with SmtpPeer() as smtp:
        async with (
            serving(push.app()) as push_base,
            serving(telegram.app()) as tg_base,
            serving(twilio.app()) as twilio_base,
        ):
            push.base = push_base
            tg = TelegramSettings(token=telegram.token, base_url=f"{tg_base}/bot")
            sms = SmsSettings(
                account_sid=twilio.account_sid,
                auth_token=twilio.auth_token,
                from_number="+15005550001",
                base_url=twilio_base,
                messages_per_second=100,
            )
            channels: dict[str, Channel] = {
                "email": EmailChannel(
                    EmailSettings(
                        host="127.0.0.1",
                        port=smtp.port,
                        security="none",
                        sender="Shop <news@shop.example>",
                    )
                ),
                "push": PushChannel(
                    PushSettings(
                        vapid_private_key=private,
                        subject="mailto:ops@shop.example",
                        trusted_origins=(push_base,),  # the local push service
                    ),
                    aiohttp.ClientSession(),
                ),
                "telegram": TelegramChannel(tg, telegram_bot(tg)),
                "sms": SmsChannel(sms, twilio_client(sms)),
            }
            for channel in channels.values():
                await channel.check()
            async with running_stack(
                dev_env, tmp_path, LADDER, TEMPLATES, channels, trusted_push=(push_base,)
            ) as run:
                yield Peers(run, smtp, push, telegram, twilio)
            for channel in channels.values():
                await channel.close()  # type: ignore[attr-defined]
    assert telegram.violations == [] and twilio.violations == [] and push.violations == []


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
    assert peers.telegram.sent[0]["text"] == "<b>Your cart</b>"
    assert peers.twilio.messages[0]["To"] == "+15005550006"
    assert "/s/" in peers.twilio.messages[0]["Body"]


async def test_clicking_the_email_link_stops_after_the_first_channel(peers: Peers) -> None:
    cart = f"c-{uuid.uuid4().hex[:8]}"
    wid = await peers.trigger(cart, peers.push.subscribe(f"dev-{cart}"))
    for _ in range(200):
        if peers.smtp.received:
            break
        await asyncio.sleep(0.05)
    html = peers.smtp.received[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = re.search(r'href="(http://127\.0\.0\.1:\d+/t/c/[^"]+)"', html)
    assert link is not None
    click = await peers.run.http.get(local(link.group(1)))
    assert click.status_code == 302 and click.headers["location"] == "https://shop.example/cart"
    state = await peers.run.result(wid)
    assert [m["channel"] for m in state["messages"]] == ["email"]
    assert state["engagement"]["clicked"] is True
    assert peers.push.received == [] and peers.telegram.sent == [] and peers.twilio.messages == []

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
import httpx
import pytest
from harness import write_scenario
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.base import Channel
from channels.email import EmailChannel, EmailSettings
from channels.push import PushChannel, PushSettings
from channels.sms import SmsChannel, SmsSettings, twilio_client
from channels.telegram import TelegramChannel, TelegramSettings, telegram_bot
from channels.vapid import generate_vapid_keys
from orchestrator.activities import Activities
from orchestrator.api.app import create_app
from orchestrator.api.serve import free_port, serving
from orchestrator.api.services import ApiSettings, Services, build_services
from orchestrator.runtime import build_worker
from orchestrator.store.db import make_engine, sessions
from orchestrator.tracking import Tracker

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
    smtp: SmtpPeer
    push: PushService
    telegram: TelegramPeer
    twilio: TwilioPeer
    http: httpx.AsyncClient
    svc: Services
    key: str

    async def trigger(self, cart: str, subscription: dict[str, Any]) -> str:
        contact = {
            "email": "alex@example.com",
            "phone": "+15005550006",
            "telegram_chat_id": "555",
            "push_subscriptions": [subscription],
            "consents": {"email": True, "push": True, "telegram": True, "sms": True},
        }
        answer = await self.http.post(
            "/v1/events",
            headers={"Authorization": f"Bearer {self.key}"},
            json={
                "name": "cart_updated",
                "customer_id": "c4",
                "event_id": f"{cart}-t",
                "data": {"cart": {"id": cart, "url": "https://shop.example/cart"}},
                "contact": contact,
            },
        )
        assert answer.status_code == 202, answer.text
        return f"cart4/cart-{cart}"

    async def result(self, wid: str) -> dict[str, Any]:
        handle = self.svc.client.get_workflow_handle(wid)
        return await asyncio.wait_for(handle.result(), timeout=30)  # type: ignore[no-any-return]


@pytest.fixture
async def peers(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Peers]:
    scenario = write_scenario(tmp_path, LADDER, TEMPLATES)
    engine = make_engine(await migrated_sqlite(tmp_path))
    port = free_port()
    tracker = Tracker(b"a" * 32, f"http://127.0.0.1:{port}")
    queue = f"e2e4-{uuid.uuid4()}"
    svc = build_services(
        dev_env.client,
        sessions(engine),
        {scenario.id: scenario},
        task_queue=queue,
        tracker=tracker,
        settings=ApiSettings(public_base_url=f"http://127.0.0.1:{port}"),
    )
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
                    PushSettings(vapid_private_key=private, subject="mailto:ops@shop.example"),
                    aiohttp.ClientSession(),
                ),
                "telegram": TelegramChannel(tg, telegram_bot(tg)),
                "sms": SmsChannel(sms, twilio_client(sms)),
            }
            for channel in channels.values():
                await channel.check()
            activities = Activities(
                directory=svc.contacts,
                send_log=svc.send_log,
                channels=channels,
                tracker=tracker,
                short_links=svc.short_links,
            )
            key = await svc.keys.create("e2e")
            async with (
                build_worker(dev_env.client, task_queue=queue, activities=activities),
                serving(create_app(svc), port=port) as base,
                httpx.AsyncClient(base_url=base) as http,
            ):
                yield Peers(smtp, push, telegram, twilio, http, svc, key)
            for channel in channels.values():
                await channel.close()  # type: ignore[attr-defined]
    await engine.dispose()
    assert telegram.violations == [] and twilio.violations == [] and push.violations == []


async def test_nobody_reacts_email_push_telegram_sms_in_order(peers: Peers) -> None:
    cart = f"c-{uuid.uuid4().hex[:8]}"
    wid = await peers.trigger(cart, peers.push.subscribe(f"dev-{cart}"))
    state = await peers.result(wid)
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
    click = await peers.http.get(re.sub(r"^http://127\.0\.0\.1:\d+", "", link.group(1)))
    assert click.status_code == 302 and click.headers["location"] == "https://shop.example/cart"
    state = await peers.result(wid)
    assert [m["channel"] for m in state["messages"]] == ["email"]
    assert state["engagement"]["clicked"] is True
    assert peers.push.received == [] and peers.telegram.sent == [] and peers.twilio.messages == []

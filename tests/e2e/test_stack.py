"""End to end on a real Temporal dev server: event in through the API, email out through a
real SMTP server, tracking back in through the API, and the run reacting."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from accepting import accepting
from e2e_stack import Running, local, running_stack
from harness import PUSH_KEYS
from peers.smtp import SmtpPeer
from temporalio.testing import WorkflowEnvironment

from channels.base import Channel
from channels.email import EmailChannel
from channels.recording import RecordingChannel
from channels.settings import EmailSettings
from orchestrator.api.services import Services
from orchestrator.engine.policies import FrequencyPolicy

LADDER = """
scenario: e2e_cart
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
steps:
  - wait: 1s
  - escalate:
      - email: e2e/reminder
        wait: 3s
      - push: e2e/reminder
        wait: 1s
      - telegram: e2e/reminder
        wait: 1s
      - sms: e2e/reminder
        wait: 1s
      - email: e2e/reminder
sample:
  cart_updated: {cart: {id: c-1, url: "https://shop.example/cart"}}
"""
TEMPLATES = {
    "e2e/reminder/email": "{% block subject %}Your cart{% endblock %}"
    '{% block html %}<p><a href="{{ link(cart.url) }}">Back to your cart</a></p>{% endblock %}',
    "e2e/reminder/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}"
    "{% block url %}{{ link(cart.url) }}{% endblock %}",
    "e2e/reminder/telegram": "{% block text %}Cart{% endblock %}",
    "e2e/reminder/sms": "{% block text %}Cart {{ link(cart.url) }}{% endblock %}",
}


@dataclass
class Stack:
    run: Running
    smtp: SmtpPeer
    providers: dict[str, RecordingChannel]
    cart: str

    @property
    def wid(self) -> str:
        return f"e2e_cart/customer-e2e/cart-{self.cart}"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.run.http

    @property
    def svc(self) -> Services:
        return self.run.svc

    async def trigger(self) -> None:
        await self.run.post_event(
            {
                "name": "cart_updated",
                "customer_id": "e2e",
                "event_id": f"{self.cart}-t",
                "data": {"cart": {"id": self.cart, "url": "https://shop.example/cart"}},
                "contact": CONTACT,
            }
        )

    async def result(self) -> dict[str, Any]:
        return await self.run.result(self.wid)


CONTACT = {
    "email": "alex@example.com",
    "phone": "+15005550006",
    "telegram_chat_id": "77",
    "push_subscriptions": [{"endpoint": "https://push.test/1", "keys": PUSH_KEYS}],
    "consents": {"email": True, "push": True, "telegram": True, "sms": True},
}


async def until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if await value if isinstance(value, Awaitable) else value:
            return
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    providers = accepting(("push", "telegram", "sms"))
    with SmtpPeer() as smtp:
        email = EmailChannel(
            EmailSettings(
                host="127.0.0.1", port=smtp.port, security="none", sender="Shop <news@shop.example>"
            )
        )
        channels: dict[str, Channel] = {"email": email, **providers}
        # Five messages in seconds: above the default shop-wide policy (4 per 1d) on purpose.
        policy = FrequencyPolicy(caps=("5 per 1d",))
        async with running_stack(dev_env, tmp_path, LADDER, TEMPLATES, channels, policy) as run:
            yield Stack(run, smtp, providers, f"c-{uuid.uuid4().hex[:8]}")
        await email.close()


async def test_open_pixel_stops_the_ladder(stack: Stack) -> None:
    await stack.trigger()
    await until(lambda: len(stack.smtp.received) == 1)
    html = stack.smtp.received[0].body()
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+)"', html)
    assert pixel is not None
    fetched = await stack.http.get(local(pixel.group(1)))
    assert fetched.status_code == 200
    state = await stack.result()
    assert [(m["channel"], m["status"]) for m in state["messages"]] == [("email", "sent")]
    assert state["engagement"]["opened"] is True
    assert all(not o.sent for o in stack.providers.values())
    logged = await stack.svc.send_log.get(state["messages"][0]["key"])
    assert logged is not None and logged.status == "sent"


async def test_nobody_reacts_and_the_run_reaches_sms(stack: Stack) -> None:
    await stack.trigger()
    state = await stack.result()
    assert [m["channel"] for m in state["messages"] if m["status"] == "sent"] == [
        "email",
        "push",
        "telegram",
        "sms",
        "email",
    ]
    sms = stack.providers["sms"].sent[0]
    assert sms.address == "+15005550006" and "/s/" in sms.message.text  # tracked short link
    short = re.search(r"(/s/[A-Za-z0-9_-]{8})$", sms.message.text)
    assert short is not None and len(sms.message.text) < 60
    follow = await stack.http.get(short.group(1))
    assert follow.status_code == 302 and follow.headers["location"] == "https://shop.example/cart"
    assert len(stack.smtp.received) == 2


async def test_unsubscribe_mid_run(stack: Stack) -> None:
    await stack.trigger()
    await until(lambda: len(stack.smtp.received) == 1)
    header = stack.smtp.received[0].message["List-Unsubscribe"]
    url = re.search(r"<(http[^>]+)>", header)
    assert url is not None
    one_click = await stack.http.post(
        local(url.group(1)),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    state = await stack.result()
    last = state["messages"][-1]
    assert (last["channel"], last["status"], last["reason"]) == (
        "email",
        "skipped",
        "suppressed: unsubscribed",
    )
    assert len(stack.smtp.received) == 1  # nothing more by email after unsubscribing
    assert [m["channel"] for m in state["messages"] if m["status"] == "sent"] == [
        "email",
        "push",
        "telegram",
        "sms",
    ]

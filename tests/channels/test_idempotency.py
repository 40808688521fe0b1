"""Through the send activity, the same idempotency key twice reaches each real peer once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from harness import FULL_CONTACT
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.testing import ActivityEnvironment

from channels.base import Channel
from channels.email import EmailChannel
from channels.push import PushChannel
from channels.settings import EmailSettings, PushSettings, SmsSettings, TelegramSettings
from channels.sms import SmsChannel, twilio_client
from channels.telegram import TelegramChannel, telegram_bot
from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import serving
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.sendlog import InMemorySendLog

SOURCES = {
    "email": "{% block subject %}s{% endblock %}{% block html %}<p>h</p>{% endblock %}",
    "push": "{% block title %}t{% endblock %}{% block body %}b{% endblock %}",
    "telegram": "{% block text %}t{% endblock %}",
    "sms": "{% block text %}t{% endblock %}",
}


@pytest.fixture
async def wired() -> AsyncIterator[tuple[Activities, dict[str, Any]]]:
    push, tg, twilio = PushService(), TelegramPeer(), TwilioPeer()
    with SmtpPeer() as smtp:
        async with (
            serving(push.app()) as push_base,
            serving(tg.app()) as tg_base,
            serving(twilio.app()) as twilio_base,
        ):
            push.base = push_base
            sub = push.subscribe("d1")
            tgs = TelegramSettings(token=tg.token, base_url=f"{tg_base}/bot")
            sms = SmsSettings(
                account_sid=twilio.account_sid,
                auth_token=twilio.auth_token,
                from_number="+15005550001",
                base_url=twilio_base,
            )
            channels: dict[str, Channel] = {
                "email": EmailChannel(
                    EmailSettings(host="127.0.0.1", port=smtp.port, security="none")
                ),
                "push": PushChannel(
                    PushSettings(
                        vapid_private_key=generate_vapid_keys()[0],
                        subject="mailto:o@x.test",
                        trusted_origins=(push_base,),
                    ),
                    aiohttp.ClientSession(),
                ),
                "telegram": TelegramChannel(tgs, telegram_bot(tgs)),
                "sms": SmsChannel(sms, twilio_client(sms)),
            }
            # The push service's origin is trusted by the channel; a directory a test fills
            # holds what it is given (stores refuse private endpoints on their way in).
            contact = Contact.model_validate({**FULL_CONTACT, "push_subscriptions": [sub]})
            acts = Activities(
                directory=InMemoryDirectory([contact]),
                send_log=InMemorySendLog(),
                channels=channels,
            )
            yield (
                acts,
                {
                    "email": lambda: len(smtp.received),
                    "push": lambda: len(push.received),
                    "telegram": lambda: len(tg.sent),
                    "sms": lambda: len(twilio.messages),
                },
            )
            for channel in channels.values():
                await channel.close()


@pytest.mark.parametrize("channel", ["email", "push", "telegram", "sms"])
async def test_same_key_reaches_the_peer_once(
    wired: tuple[Activities, dict[str, Any]], channel: str
) -> None:
    acts, counts = wired
    request = SendRequest(
        key=f"wf/g0/steps.1/{channel}",
        scenario="s",
        category="marketing",
        step="steps.1",
        channel=channel,
        template="t/x",
        sources={"": SOURCES[channel]},
        customer_id="c1",
        now=datetime.now(UTC).isoformat(),
        run={"id": "s/c1"},
        trigger={},
        event={},
    )
    env = ActivityEnvironment()
    first = await env.run(acts.send, request)
    second = await env.run(acts.send, request)
    assert first.status == second.status == "sent"
    assert second.provider_id == first.provider_id
    assert counts[channel]() == 1

"""The four providers' local peers running at once (SMTP, Web Push, the Bot API, Twilio), with
Omni's real channel adapters pointed at them: for end-to-end tests on the dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.base import Channel
from channels.email import EmailChannel
from channels.push import PushChannel
from channels.settings import EmailSettings, PushSettings, SmsSettings, TelegramSettings
from channels.sms import SmsChannel, twilio_client
from channels.telegram import TelegramChannel, telegram_bot
from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import serving
from peers.push_service import PushService
from peers.smtp import Behaviour, SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer


@dataclass
class Providers:
    smtp: SmtpPeer
    push: PushService
    telegram: TelegramPeer
    twilio: TwilioPeer
    #: Omni's adapters, configured for the peers (checked: credentials and reachability).
    channels: dict[str, Channel]
    #: The push service's origin, to trust as a push endpoint.
    push_base: str

    def violations(self) -> list[str]:
        """What the peers found wrong in the requests against their providers' contracts."""
        return [*self.telegram.violations, *self.twilio.violations, *self.push.violations]


@asynccontextmanager
async def four_providers(
    hold: Callable[[Any], Awaitable[None]] | None = None, *, smtp_timeout: float = 30.0
) -> AsyncIterator[Providers]:
    """``hold``, if given, is awaited by every peer after it has the message and before it
    answers: a slow provider."""
    push, telegram, twilio = PushService(), TelegramPeer(), TwilioPeer()
    push.hold, telegram.hold, twilio.hold = hold, hold, hold
    private, _ = generate_vapid_keys()
    with SmtpPeer(behaviour=Behaviour(hold=hold)) as smtp:
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
                        timeout=smtp_timeout,
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
            try:
                yield Providers(smtp, push, telegram, twilio, channels, push_base)
            finally:
                for channel in channels.values():
                    await channel.close()

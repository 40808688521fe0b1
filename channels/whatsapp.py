"""WhatsApp through Twilio's Messages API: ``whatsapp:`` addresses on both ends, and either free
text (``Body``: only within 24 h of the customer's last message) or a template WhatsApp approved
(``ContentSid`` and ``ContentVariables``). Which one is the engine's decision; the adapter sends
what the message holds and refuses a message that holds both or neither.

``ContentVariables`` is a JSON object of strings written here with ``json.dumps``: whatever the
data holds (quotes, backslashes, line breaks, ``{{1}}``, markup), each value arrives as exactly
that string and cannot add or change another variable. ASCII escapes (``\\uXXXX``) keep even
text that is not valid UTF-8 (a lone surrogate from JSON input) sendable.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.base import ChannelMisconfigured, Delivery, FindsSent, Outbound, PermanentChannelError
from channels.ratelimit import TokenBucket
from channels.settings import WhatsappSettings
from channels.sms import check_account, create_message, find_message

PREFIX = "whatsapp:"
#: Twilio's limit for a message body ("up to 1,600 characters", its Messages API).
MAX_BODY = 1600


class WhatsappChannel(FindsSent):
    name = "whatsapp"

    def __init__(self, settings: WhatsappSettings, client: Client) -> None:
        if not (settings.from_number or settings.messaging_service_sid):
            raise ChannelMisconfigured(
                "WhatsApp needs a sender (OMNI_WHATSAPP_FROM) or a Messaging Service SID"
            )
        if not settings.account_sid:
            raise ChannelMisconfigured("WhatsApp needs the Twilio account (OMNI_TWILIO_*)")
        self.settings = settings
        self.client = client
        self._rate = TokenBucket(settings.messages_per_second)

    async def check(self) -> None:
        await check_account(self.client, self.settings.account_sid)

    async def close(self) -> None:
        http = self.client.http_client
        if isinstance(http, AsyncTwilioHttpClient):
            await http.close()

    async def find_sent(self, address: str, since: datetime) -> str | None:
        """The SID of a message Twilio accepted for ``address`` since ``since`` (its Messages
        list, To=whatsapp:+...): an attempt after a crash mid-send asks instead of sending
        twice."""
        return await find_message(self.client, PREFIX + str(address), since)

    async def send(self, out: Outbound) -> Delivery:
        s, message = self.settings, out.message
        if bool(message.text) == bool(message.content_sid):
            # The engine chooses one; anything else is a bug, not the customer's doing.
            raise PermanentChannelError(
                "rejected: a WhatsApp message is free text or an approved template, not "
                + ("both" if message.text else "neither")
            )
        params: dict[str, Any] = {"to": PREFIX + str(out.address)}
        if message.content_sid:
            params["content_sid"] = message.content_sid
            if message.content_variables:
                params["content_variables"] = json.dumps(
                    message.content_variables, separators=(",", ":")
                )
        else:
            if len(message.text) > MAX_BODY:
                raise PermanentChannelError(
                    f"too_long: {len(message.text):,} characters > Twilio's {MAX_BODY:,}"
                )
            params["body"] = message.text
        callback = out.status_callback_url or s.status_callback_url
        if callback:
            params["status_callback"] = callback
        if s.messaging_service_sid:
            params["messaging_service_sid"] = s.messaging_service_sid
        else:
            params["from_"] = PREFIX + s.from_number
        await self._rate.acquire()
        await out.handing_over()
        return Delivery(provider_id=await create_message(self.client, params))

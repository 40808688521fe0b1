"""SMS through Twilio's Messages API, with the async twilio client (WhatsApp, sent through the
same API, is ``channels.whatsapp``).

Idempotency: Twilio's Messages API takes no idempotency key. The send log is checked before
calling Twilio and written after; if the worker dies between Twilio's 201 and the log write,
the retried activity sends the SMS again. The window is one HTTP round trip.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import (
    ChannelMisconfigured,
    Delivery,
    FindsSent,
    Outbound,
    PermanentChannelError,
    Rendered,
    ShowsAsSent,
    TransientChannelError,
)
from channels.preferences import sms_text
from channels.ratelimit import TokenBucket
from channels.segments import segments
from channels.settings import TWILIO, SmsSettings

SUPPRESS = {
    21610: "unsubscribed",
    21211: "invalid_address",
    21614: "invalid_address",
    21612: "invalid_address",
}


class TwilioAccount(Protocol):
    @property
    def account_sid(self) -> str: ...
    @property
    def auth_token(self) -> SecretStr: ...
    @property
    def base_url(self) -> str: ...


class _HttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Rewrites the API root, and maps 429 once, here, where Retry-After is still visible."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> Response:
        if self.base_url != TWILIO:
            url = url.replace(TWILIO, self.base_url, 1)
        headers = dict(headers or {})
        if auth is not None:
            # The SDK would pass aiohttp's deprecated BasicAuth; send the header ourselves.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        response: Response = await super().request(
            method, url, params=params, data=data, headers=headers, **kwargs
        )
        if response.status_code == 429:
            retry = (response.headers or {}).get("Retry-After")
            raise TransientChannelError(
                "twilio: rate limited (429)", retry_after=float(retry) if retry else None
            )
        return response


def twilio_client(settings: TwilioAccount) -> Client:
    return Client(
        settings.account_sid,
        settings.auth_token.get_secret_value(),
        http_client=_HttpClient(settings.base_url),
    )


class SmsChannel(FindsSent, ShowsAsSent):
    def __init__(self, settings: SmsSettings, client: Client) -> None:
        if not (settings.from_number or settings.messaging_service_sid):
            raise ChannelMisconfigured("SMS needs a sender number or a Messaging Service SID")
        self.settings = settings
        self.client = client
        self.name = "sms"
        self._rate = TokenBucket(settings.messages_per_second)

    async def check(self) -> None:
        await check_account(self.client, self.settings.account_sid)

    async def close(self) -> None:
        http = self.client.http_client
        if isinstance(http, AsyncTwilioHttpClient):
            await http.close()

    async def find_sent(self, address: str, since: datetime) -> str | None:
        """The SID of a message Twilio accepted for ``address`` since ``since``: an attempt
        after a crash mid-send asks instead of sending twice (Messages list, by To and
        DateSent)."""
        return await find_message(self.client, str(address), since)

    def text(self, out: Outbound) -> str:
        """The body as sent: the rendered text, and the preference center's link when it
        fits (``channels.preferences``)."""
        m = out.message
        return sms_text(
            m.text, out.preferences_url, m.locale, max_segments=self.settings.max_segments
        )

    def as_sent(self, out: Outbound) -> Rendered:
        return replace(out.message, text=self.text(out))

    async def send(self, out: Outbound) -> Delivery:
        s = self.settings
        text = self.text(out)
        info = segments(text)
        if info.segments > s.max_segments:
            raise PermanentChannelError(
                f"too_long: {info.segments} {info.encoding} segments > max {s.max_segments}"
            )
        params: dict[str, Any] = {"to": str(out.address), "body": text}
        callback = out.status_callback_url or s.status_callback_url
        if callback:
            params["status_callback"] = callback
        if s.messaging_service_sid:
            params["messaging_service_sid"] = s.messaging_service_sid
        else:
            params["from_"] = s.from_number
        await self._rate.acquire()
        await out.handing_over()
        return Delivery(provider_id=await create_message(self.client, params))


async def check_account(client: Client, account_sid: str) -> None:
    """Fetch the account once: bad credentials or an unreachable API fail here, loudly."""
    try:
        await client.api.v2010.accounts(account_sid).fetch_async()
    except TwilioException as exc:
        status = getattr(exc, "status", 0)
        if status in (401, 403):
            raise ChannelMisconfigured("Twilio credentials rejected") from None
        raise ChannelMisconfigured(f"Twilio account check failed ({status})") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ChannelMisconfigured(f"cannot reach Twilio: {exc.__class__.__name__}") from None


async def find_message(client: Client, to: str, since: datetime) -> str | None:
    """The SID of a message to ``to`` Twilio has had since ``since`` (its Messages list)."""
    try:
        found = await client.messages.list_async(to=to, date_sent_after=since, limit=20)
    except (TwilioRestException, TwilioServiceException) as exc:
        raise _map(int(getattr(exc, "status", 0) or 0), getattr(exc, "code", None), "") from None
    floor = since - timedelta(minutes=1)  # clocks differ a little
    for message in found:
        sent = message.date_sent or message.date_created
        if sent is None or sent >= floor:
            return str(message.sid)
    return None


async def create_message(client: Client, params: dict[str, Any]) -> str:
    """POST a message (``params`` in the SDK's names); its SID, or a mapped ChannelError."""
    try:
        message = await client.messages.create_async(**params)
    except (TwilioRestException, TwilioServiceException) as exc:
        raise _map(
            int(getattr(exc, "status", 0) or 0),
            getattr(exc, "code", None),
            str(getattr(exc, "msg", "") or getattr(exc, "title", "")),
        ) from None
    except TwilioException as exc:
        raise TransientChannelError(f"twilio: {exc.__class__.__name__}") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TransientChannelError(f"twilio: {exc.__class__.__name__}") from None
    return str(message.sid)


def _map(status: int, code: int | None, text: str) -> Exception:
    if code in SUPPRESS:
        return PermanentChannelError(f"{SUPPRESS[code]}: twilio {code} {text}", suppress=True)
    if status == 429 or code == 20429:
        return TransientChannelError(f"twilio {code}: rate limited")
    if status >= 500:
        return TransientChannelError(f"twilio {status}: {text}")
    if status in (401, 403) or code == 20003:
        return ChannelMisconfigured("Twilio credentials rejected")
    return PermanentChannelError(f"rejected: twilio {code or status} {text}")

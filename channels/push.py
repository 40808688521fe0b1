"""Web push (pywebpush, async with one shared aiohttp session): one notification per active
subscription of the contact, VAPID-signed, aes128gcm-encrypted.

Idempotency: push services take no idempotency key, but the payload carries the send's key as
the notification ``tag``, so a resend after a crash between the push service's answer and the
log write replaces the first notification on the device instead of stacking a second one.

Endpoints are checked before every send (``channels.endpoints``): https on a host whose every
address is public. A refused endpoint is a permanent failure and the subscription is dropped.
``push_session`` builds an aiohttp session whose resolver keeps to public addresses too.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from channels.base import (
    ChannelMisconfigured,
    Delivery,
    Outbound,
    PermanentChannelError,
    Rendered,
    ShowsAsSent,
    TransientChannelError,
)
from channels.endpoints import PublicResolver, Resolve, resolved_problem, system_resolve
from channels.preferences import label, push_payload
from channels.ratelimit import TokenBucket
from channels.settings import PushSettings


def push_session(settings: PushSettings) -> aiohttp.ClientSession:
    """The session for PushChannel: connections only to public addresses (or trusted hosts)."""
    connector = aiohttp.TCPConnector(resolver=PublicResolver(settings.trusted_origins))
    return aiohttp.ClientSession(connector=connector)


class PushChannel(ShowsAsSent):
    name = "push"

    def __init__(
        self,
        settings: PushSettings,
        session: aiohttp.ClientSession,
        *,
        resolve: Resolve = system_resolve,
    ) -> None:
        self.settings = settings
        self.session = session
        self._resolve = resolve
        self._rate = TokenBucket(settings.rate_per_second, burst=settings.rate_per_second)
        self._vapid: Vapid | None = None

    def _key(self) -> Vapid:
        if self._vapid is None:
            key = self.settings.vapid_private_key.get_secret_value()
            try:
                self._vapid = (
                    Vapid.from_pem(key.encode()) if "BEGIN" in key else Vapid.from_string(key)
                )
            except Exception:  # py_vapid raises several types for a bad key
                raise ChannelMisconfigured("the VAPID private key cannot be read") from None
        return self._vapid

    async def check(self) -> None:
        self._key()
        scheme = urlparse(self.settings.subject).scheme
        if scheme not in ("mailto", "https"):
            raise ChannelMisconfigured("the VAPID subject must be a mailto: or https: URL")
        if self.settings.urgency not in ("very-low", "low", "normal", "high"):
            raise ChannelMisconfigured("push urgency must be very-low, low, normal or high")

    async def close(self) -> None:
        await self.session.close()

    def as_sent(self, out: Outbound) -> Rendered:
        """The notification as shown: the preference center's action beside the buttons."""
        m = out.message
        if not self.payload(out)[1]:
            return m
        return replace(m, buttons=[*m.buttons, (label(m.locale), out.preferences_url)])

    def payload(self, out: Outbound) -> tuple[str, bool]:
        """The JSON the service worker gets, and whether it carries the preferences action."""
        m = out.message
        fields = {"title": m.title, "body": m.body, "url": m.url, "icon": m.icon, "key": out.key}
        return push_payload(fields, out.preferences_url, m.locale)

    async def send(self, out: Outbound) -> Delivery:
        payload, _ = self.payload(out)
        subscriptions: list[dict[str, Any]] = list(out.address)
        results = await asyncio.gather(
            *(self._one(sub, payload, out) for sub in subscriptions), return_exceptions=True
        )
        delivered, gone, transient = [], [], []
        rejected: list[PermanentChannelError] = []
        for sub, result in zip(subscriptions, results, strict=True):
            if isinstance(result, str):
                delivered.append(result)
            elif isinstance(result, _Gone):
                gone.append(sub["endpoint"])
            elif isinstance(result, _Refused):
                gone.append(sub["endpoint"])  # never again: drop the subscription
                rejected.append(result)
            elif isinstance(result, TransientChannelError):
                transient.append(result)
            elif isinstance(result, PermanentChannelError):
                rejected.append(result)
            else:
                raise result
        if delivered:
            # Partial success counts: retrying would notify the devices that already have it.
            return Delivery(provider_id=" ".join(delivered), gone=gone)
        if transient:
            retry = max((t.retry_after or 0 for t in transient), default=0) or None
            raise TransientChannelError(str(transient[0]), retry_after=retry)
        if rejected:
            raise PermanentChannelError(rejected[0].reason, gone=gone)
        raise PermanentChannelError(
            "expired: every push subscription is gone", suppress=False, gone=gone
        )

    async def _one(self, sub: dict[str, Any], payload: str, out: Outbound) -> str:
        endpoint = sub.get("endpoint")
        problem = await resolved_problem(
            str(endpoint), self.settings.trusted_origins, self._resolve
        )
        if problem is not None:
            raise _Refused(f"invalid_address: push endpoint refused: {problem}")
        await self._rate.acquire()
        await out.handing_over()
        try:
            response = await webpush_async(
                sub,
                payload,
                vapid_private_key=self._key(),
                vapid_claims={"sub": self.settings.subject},  # webpush mutates it: fresh each
                ttl=self.settings.ttl,
                headers={"Urgency": self.settings.urgency},
                timeout=self.settings.timeout,
                aiohttp_session=self.session,
            )
        except WebPushException as exc:
            raise _map(exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientChannelError(f"push: {exc.__class__.__name__}") from None
        if isinstance(response, str):
            return response
        return str(response.headers.get("Location") or response.status)


class _Gone(Exception):
    pass


class _Refused(PermanentChannelError):
    """An endpoint the worker must not call (not https, or not a public host)."""


def _map(exc: WebPushException) -> Exception:
    response = exc.response
    status = int(getattr(response, "status", 0) or getattr(response, "status_code", 0) or 0)
    if status in (404, 410):
        return _Gone()
    if status == 429 or status >= 500:
        retry = response.headers.get("Retry-After") if response is not None else None
        return TransientChannelError(
            f"push service {status}", retry_after=float(retry) if retry else None
        )
    if status == 413:
        return PermanentChannelError("rejected: push payload too large (413)")
    if status in (401, 403):
        return ChannelMisconfigured(f"push service refused the VAPID signature ({status})")
    return PermanentChannelError(f"rejected: push service {status}")

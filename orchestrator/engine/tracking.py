"""Signed tracking tokens: click redirects, open pixels, one-click unsubscribe, Telegram links.

A token is ``base64url(payload).base64url(HMAC-SHA256(payload)[:16])``: 128-bit tags, checked
in constant time, with key rotation (sign with the current secret, verify with any listed).
A click token carries the only URL it may redirect to, so the redirect is never open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

DAY = 86400
TTL = {
    "click": 90 * DAY,
    "open": 30 * DAY,
    "unsubscribe": 365 * DAY,
    "telegram": 7 * DAY,
    "preferences": 90 * DAY,
}
TAG_BYTES = 16
#: Random bytes of a preference center short code (12 characters).
PREFERENCE_CODE_BYTES = 9


class TokenError(ValueError):
    """A token that must not be honoured; the message is safe to show."""


class TokenMalformed(TokenError):
    pass


class TokenTampered(TokenError):
    pass


class TokenExpired(TokenError):
    pass


@dataclass(frozen=True)
class Claims:
    kind: str
    run_id: str
    message_key: str
    customer_id: str
    channel: str
    url: str
    expires: int
    nonce: str

    @property
    def event_id(self) -> str:
        """Deterministic per token: a replayed click or open is dropped by the run."""
        return f"{self.kind}:{self.nonce}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise TokenMalformed("malformed token") from None


def _safe_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


class Tracker:
    def __init__(
        self,
        secret: bytes,
        base_url: str,
        *,
        previous: tuple[bytes, ...] = (),
        ttl: dict[str, int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the tracking secret must be at least 32 bytes")
        parsed = urlparse(base_url)
        local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
            raise ValueError(
                f"tracking base URL must be https (got {base_url!r}); "
                "plain http is only allowed on localhost"
            )
        self.base_url = base_url.rstrip("/")
        self._keys = (secret, *previous)
        self.ttl = {**TTL, **(ttl or {})}
        self.clock = clock

    # -- tokens ----------------------------------------------------------------------------
    def _tag(self, key: bytes, payload: bytes) -> bytes:
        return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def sign(
        self,
        kind: str,
        *,
        run_id: str = "",
        message_key: str = "",
        customer_id: str = "",
        channel: str = "",
        url: str = "",
    ) -> str:
        if kind == "click" and not _safe_url(url):
            raise ValueError(f"only http(s) links can be tracked, not {url!r}")
        body: dict[str, Any] = {
            "k": kind,
            "r": run_id,
            "m": message_key,
            "c": customer_id,
            "h": channel,
            "u": url,
            "e": int(self.clock()) + self.ttl[kind],
            "n": secrets.token_urlsafe(9),
        }
        payload = json.dumps(
            {k: v for k, v in body.items() if v != ""}, separators=(",", ":")
        ).encode()
        return f"{_b64(payload)}.{_b64(self._tag(self._keys[0], payload))}"

    def verify(self, token: str, kind: str) -> Claims:
        head, dot, tail = token.partition(".")
        if not dot or not head or not tail:
            raise TokenMalformed("malformed token")
        payload, tag = _unb64(head), _unb64(tail)
        if not any(hmac.compare_digest(self._tag(k, payload), tag) for k in self._keys):
            raise TokenTampered("this link is not valid")
        try:
            body = json.loads(payload)
        except ValueError:
            raise TokenMalformed("malformed token") from None
        if body.get("k") != kind:
            raise TokenTampered("this link is not valid here")
        if int(body.get("e", 0)) < self.clock():
            raise TokenExpired("this link has expired")
        claims = Claims(
            kind=kind,
            run_id=body.get("r", ""),
            message_key=body.get("m", ""),
            customer_id=body.get("c", ""),
            channel=body.get("h", ""),
            url=body.get("u", ""),
            expires=int(body["e"]),
            nonce=body.get("n", ""),
        )
        if kind == "click" and not _safe_url(claims.url):
            raise TokenTampered("this link is not valid")
        return claims

    # -- URLs for messages -----------------------------------------------------------------
    def link(
        self, *, run_id: str, message_key: str, customer_id: str, channel: str
    ) -> Callable[[str], str]:
        """The ``link`` helper templates call: http(s) URLs become tracked redirects."""

        def tracked(url: str) -> str:
            if not _safe_url(url) or url.startswith(self.base_url + "/"):
                return url
            return f"{self.base_url}/t/c/" + self.sign(
                "click",
                run_id=run_id,
                message_key=message_key,
                customer_id=customer_id,
                channel=channel,
                url=url,
            )

        return tracked

    def pixel_url(self, *, run_id: str, message_key: str, customer_id: str) -> str:
        return f"{self.base_url}/t/o/" + self.sign(
            "open", run_id=run_id, message_key=message_key, customer_id=customer_id, channel="email"
        )

    def unsubscribe_url(
        self, *, customer_id: str, channel: str, message_key: str = "", run_id: str = ""
    ) -> str:
        return f"{self.base_url}/u/" + self.sign(
            "unsubscribe",
            run_id=run_id,
            message_key=message_key,
            customer_id=customer_id,
            channel=channel,
        )

    def preferences_token(self, *, customer_id: str, channel: str = "") -> str:
        """The token of the customer's preference center (orchestrator.api.preference_center).
        It carries when it was made (ms): a profile created after that (erased, then a new
        customer under the same id) is not the one the link was made for."""
        made = f"t{int(self.clock() * 1000)}"
        return self.sign("preferences", customer_id=customer_id, channel=channel, message_key=made)

    def preferences_url(self, *, customer_id: str, channel: str = "") -> str:
        """The preference center with the token in the URL (email's footer)."""
        token = self.preferences_token(customer_id=customer_id, channel=channel)
        return f"{self.base_url}/p/{token}"

    def short_preferences(self, *, customer_id: str, channel: str) -> tuple[str, str, str]:
        """A short link to the preference center for SMS, Telegram and web push: ``(url,
        code, token)``. The URL holds only a random code; the store maps the code to the
        signed token (store it before the message goes). 72 random bits: the page shows
        masked addresses and changes consent, so a code must not be guessable like the
        8-character click codes, whose worst case is a redirect to the shop."""
        code = secrets.token_urlsafe(PREFERENCE_CODE_BYTES)
        token = self.preferences_token(customer_id=customer_id, channel=channel)
        return f"{self.base_url}/p/{code}", code, token

    # -- Telegram deep links (payload: at most 64 of [A-Za-z0-9_-]) -------------------------
    def telegram_token(self, customer_id: str) -> str:
        cid = _b64(customer_id.encode())
        expires = format(int(self.clock()) + self.ttl["telegram"], "x").rjust(9, "0")
        body = f"{cid}{expires}"
        # 12-byte tag (96 bits) to fit Telegram's 64 characters; single use, 7-day lifetime.
        token = body + _b64(hmac.new(self._keys[0], body.encode(), hashlib.sha256).digest()[:12])
        if len(token) > 64:
            raise ValueError("customer id too long for a Telegram deep link (max 31 bytes)")
        return token

    def telegram_customer(self, token: str) -> str:
        # A deep-link payload is [A-Za-z0-9_-]; anything else (é, a lone surrogate) is not ours.
        if len(token) < 26 or len(token) > 64 or not token.isascii():
            raise TokenMalformed("malformed token")
        body, tag = token[:-16].encode(), token[-16:].encode()
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError).
        if not any(
            hmac.compare_digest(_b64(hmac.new(k, body, hashlib.sha256).digest()[:12]).encode(), tag)
            for k in self._keys
        ):
            raise TokenTampered("this link is not valid")
        cid, expires = body[:-9].decode(), body[-9:].decode()
        if int(expires, 16) < self.clock():
            raise TokenExpired("this link has expired")
        return _unb64(cid).decode()

    def telegram_link(self, bot_username: str, customer_id: str) -> str:
        return f"https://t.me/{bot_username}?start={self.telegram_token(customer_id)}"

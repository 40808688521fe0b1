"""Signed tracking tokens: click redirects, open pixels, one-click unsubscribe, Telegram links.

Signed and checked by itsdangerous (its ``Signer``: constant-time checks, key rotation — sign
with the current secret, verify with any listed). A token is
``base64url(payload).base64url(HMAC-SHA256(payload)[:16])``, a Telegram deep link's payload
``body + base64url(HMAC-SHA256(body)[:12])``: the tags are cut to 128 and 96 bits to keep links
short (a Telegram deep link has 64 characters), and they sign the payload itself with the
secret as it is — the format the links already in customers' mailboxes carry (unsubscribe
links live a year), so every one of them stays valid.
A click token carries the only URL it may redirect to, so the redirect is never open.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from itsdangerous import BadData, HMACAlgorithm, Signer, base64_decode, base64_encode

DAY = 86400
TTL = {
    "click": 90 * DAY,
    "open": 30 * DAY,
    "unsubscribe": 365 * DAY,
    "telegram": 7 * DAY,
    "preferences": 90 * DAY,
}
TAG_BYTES = 16
#: Telegram deep links: at most 64 of [A-Za-z0-9_-], so a shorter tag (96 bits).
TELEGRAM_TAG_BYTES = 12
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


class _TruncatedHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to ``size`` bytes (itsdangerous compares it in constant time)."""

    def __init__(self, size: int) -> None:
        super().__init__(hashlib.sha256)
        self.size = size

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[: self.size]


def _signer(keys: list[bytes], tag_bytes: int) -> Signer:
    return Signer(keys, key_derivation="none", algorithm=_TruncatedHMAC(tag_bytes))


def _unb64(text: str) -> bytes:
    try:
        return base64_decode(text)
    except BadData:
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
        keys = [*previous, secret]  # itsdangerous signs with the last, verifies with any
        self._tokens = _signer(keys, TAG_BYTES)
        self._deep_links = _signer(keys, TELEGRAM_TAG_BYTES)
        self.ttl = {**TTL, **(ttl or {})}
        self.clock = clock

    # -- tokens ----------------------------------------------------------------------------
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
        tag = self._tokens.get_signature(payload).decode()
        return f"{base64_encode(payload).decode()}.{tag}"

    def verify(self, token: str, kind: str) -> Claims:
        head, dot, tail = token.partition(".")
        # base64 decoding skips what is not base64 (an é): such a token is not one of ours.
        if not dot or not head or not tail or not token.isascii():
            raise TokenMalformed("malformed token")
        payload = _unb64(head)
        if not self._tokens.verify_signature(payload, tail):
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
        cid = base64_encode(customer_id.encode()).decode()
        expires = format(int(self.clock()) + self.ttl["telegram"], "x").rjust(9, "0")
        body = f"{cid}{expires}"
        # Single use, 7-day lifetime; no separator: a deep link allows none.
        token = body + self._deep_links.get_signature(body).decode()
        if len(token) > 64:
            raise ValueError("customer id too long for a Telegram deep link (max 31 bytes)")
        return token

    def telegram_customer(self, token: str) -> str:
        # A deep-link payload is [A-Za-z0-9_-]; anything else (é, a lone surrogate) is not ours.
        if len(token) < 26 or len(token) > 64 or not token.isascii():
            raise TokenMalformed("malformed token")
        body, tag = token[:-16], token[-16:]
        if not self._deep_links.verify_signature(body, tag):
            raise TokenTampered("this link is not valid")
        cid, expires = body[:-9], body[-9:]
        if int(expires, 16) < self.clock():
            raise TokenExpired("this link has expired")
        return _unb64(cid).decode()

    def telegram_link(self, bot_username: str, customer_id: str) -> str:
        return f"https://t.me/{bot_username}?start={self.telegram_token(customer_id)}"

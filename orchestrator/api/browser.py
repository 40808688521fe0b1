"""Browser logins, shared by the console and the codec server: a signed opaque session id in
an HttpOnly cookie (the session itself is server-side, orchestrator.store.sessions), CSRF
tokens, the login form's token, the same-origin check on posts, and the login throttle.

Signing is itsdangerous (HMAC-SHA1 over a key derived per purpose, ``salt``). Everything a
client sends is compared as bytes: non-ASCII in a cookie or a form field is a refusal, never a
TypeError."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from fastapi import Request
from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer
from starlette.responses import Response

from channels.ratelimit import KeyedBuckets, TokenBucket
from orchestrator.api.keys import key_id_of
from orchestrator.api.throttle import client_key

#: Seconds a login form stays usable.
LOGIN_FORM_SECONDS = 600


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def id_hash(session_id: str) -> str:
    """What the store keys a session by: a stolen table cannot be replayed as cookies."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class Signing:
    """The tokens of one app (``console`` or ``codec``), from one secret."""

    def __init__(self, secret: bytes, app: str, *, lifetime_seconds: int) -> None:
        self.app = app
        self.secret = secret
        self.lifetime_seconds = lifetime_seconds
        self._cookie = URLSafeTimedSerializer(secret, salt=f"omni {app} session")
        self._csrf = URLSafeSerializer(secret, salt=f"omni {app} csrf")
        self._login = URLSafeTimedSerializer(secret, salt=f"omni {app} login form")

    def new_session(self) -> tuple[str, str]:
        """A fresh session: (its cookie value, the id hash the store keeps)."""
        session_id = secrets.token_urlsafe(32)
        return self._cookie.dumps(session_id), id_hash(session_id)

    def session_of(self, cookie: str) -> str | None:
        """The id hash a cookie names, or None if it is forged, mangled or too old."""
        if not cookie:
            return None
        try:
            session_id = self._cookie.loads(cookie, max_age=self.lifetime_seconds)
        except BadData:
            return None
        return id_hash(session_id) if isinstance(session_id, str) else None

    def csrf_token(self, session_hash: str) -> str:
        return self._csrf.dumps(session_hash)

    def csrf_ok(self, token: str, session_hash: str) -> bool:
        try:
            found = self._csrf.loads(token)
        except BadData:
            return False
        return isinstance(found, str) and _same(found, session_hash)

    def login_token(self, nonce: str) -> str:
        return self._login.dumps(nonce)

    def login_ok(self, token: str, nonce: str) -> bool:
        """The login form's token matches the nonce its cookie holds (a page from another
        site has neither)."""
        if not nonce:
            return False
        try:
            found = self._login.loads(token, max_age=LOGIN_FORM_SECONDS)
        except BadData:
            return False
        return isinstance(found, str) and _same(found, nonce)

    def password_tag(self, password: str | None) -> str | None:
        """A keyed fingerprint of the console password: sessions remember which one they
        logged in with, so a new password ends them (the password itself is not stored)."""
        if not password:
            return None
        tag = hmac.new(self.secret, b"password|" + password.encode(), hashlib.sha256)
        return tag.hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)


def same_origin(request: Request) -> bool:
    """Browsers say where a request comes from in Sec-Fetch-Site (and Origin); a client that
    sends neither (not a browser) is judged by its CSRF token alone."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parsed = urlparse(origin)
    return f"{parsed.scheme}://{parsed.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time comparison of a typed secret with the expected one, on bytes."""
    return _same(given, expected)


@dataclass
class LoginThrottle:
    """Login attempts (OWASP ASVS 4.0 V2.2.1): per client address a burst of ``per_address``
    checks, refilled at ``per_address`` a minute, and per account (the console password)
    ``per_account`` failed checks, refilled at ``per_account`` an hour, from all addresses
    together (token buckets, ``channels.ratelimit``). Both are taken before the check, so
    parallel guesses do not slip through, and a throttled attempt is not checked at all (the
    right password too gets 429 until a token is back). A successful login gives its tokens
    back. API keys are 256-bit random: they get the address limit only, so nobody can lock a
    key out of the console by guessing at its id."""

    per_address: int = 10
    per_account: int = 100
    clock: Callable[[], float] = time.monotonic
    addresses: KeyedBuckets = field(init=False)
    accounts: KeyedBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.addresses = KeyedBuckets(self.per_address / 60, self.per_address, clock=self.clock)
        self.accounts = KeyedBuckets(self.per_account / 3600, self.per_account, clock=self.clock)

    def take(self, request: Request, secret: str) -> tuple[float, list[TokenBucket]]:
        """Seconds to wait (0: go ahead), and the tokens taken (to give back on success)."""
        host = client_key(request.client.host if request.client else "unknown")
        taken: list[TokenBucket] = []
        address = self.addresses.bucket(host)
        wait = address.take()
        if wait > 0:
            return wait, taken
        taken.append(address)
        if not key_id_of(secret):
            account = self.accounts.bucket("password")
            wait = account.take()
            if wait > 0:
                return wait, taken
            taken.append(account)
        return 0.0, taken

    @staticmethod
    def succeeded(taken: list[TokenBucket]) -> None:
        for bucket in taken:
            bucket.give_back()


def set_cookie(response: Response, request: Request, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )

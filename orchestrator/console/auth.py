"""Console logins: an API key or the console password, a signed session cookie (HttpOnly,
SameSite=Strict), a CSRF token per session on every form, and a same-origin check on posts.

A session cookie is ``base64url(json).base64url(HMAC-SHA256)``; nothing is stored server-side,
so any API process with the same secret accepts it. The CSRF token is an HMAC of the session's
nonce: a page from another site can neither read it nor guess it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from orchestrator.console.settings import Console

COOKIE = "omni_console"
LOGIN_COOKIE = "omni_console_login"


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to the login page."""


class Forbidden(Exception):
    """A form post without a valid session, CSRF token or from another origin."""


@dataclass(frozen=True)
class Session:
    who: str
    nonce: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(secret: bytes, purpose: str, data: bytes) -> str:
    return _b64(hmac.new(secret, purpose.encode() + b"|" + data, hashlib.sha256).digest())


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def session_cookie(console: Console, who: str) -> str:
    expires = int(time.time()) + console.settings.session_hours * 3600
    payload = json.dumps({"w": who, "n": secrets.token_urlsafe(16), "e": expires}).encode()
    return f"{_b64(payload)}.{_tag(console.secret, 'session', payload)}"


def current_session(request: Request) -> Session | None:
    console = console_of(request)
    raw = request.cookies.get(COOKIE, "")
    head, _, tag = raw.partition(".")
    try:
        payload = _unb64(head)
        if not hmac.compare_digest(_tag(console.secret, "session", payload), tag):
            return None
        body: dict[str, Any] = json.loads(payload)
    except ValueError:
        return None
    if int(body.get("e", 0)) < time.time():
        return None
    return Session(str(body["w"]), str(body["n"]), int(body["e"]))


def require_session(request: Request) -> Session:
    found = current_session(request)
    if found is None:
        raise LoginRequired()
    return found


def csrf_token(console: Console, session: Session) -> str:
    return _tag(console.secret, "csrf", session.nonce.encode())


def login_token(console: Console, nonce: str) -> str:
    return _tag(console.secret, "login", nonce.encode())


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


async def checked_form(request: Request) -> tuple[Session, FormData]:
    """The posted form of a logged-in user, after the origin and CSRF checks."""
    session = current_session(request)
    if session is None or not same_origin(request):
        raise Forbidden()
    form = await request.form()
    token = str(form.get("csrf", ""))
    if not hmac.compare_digest(token, csrf_token(console_of(request), session)):
        raise Forbidden()
    return session, form


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

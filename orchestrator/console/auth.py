"""Console logins: an API key with the ``console`` scope or the console password, a
server-side session (orchestrator.store.sessions) named by a signed opaque id in an HttpOnly,
SameSite=Strict cookie, a CSRF token per session on every form, a same-origin check on posts,
and the login throttle (orchestrator.api.browser).

The session is looked up once per request, before the handler runs (``resolve_session``): page
rendering and the handlers then read it from the request."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.api.browser import same_origin
from orchestrator.console.state import Console

COOKIE = "omni_console"
LOGIN_COOKIE = "omni_console_login"
_STATE = "console_session"


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to the login page."""


class Forbidden(Exception):
    """A form post without a valid session, CSRF token or from another origin."""


@dataclass(frozen=True)
class Session:
    who: str
    #: The store's key of the session (the CSRF token signs it).
    id_hash: str


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


class ResolveSession:
    """ASGI middleware: the console session of each /console request, read from the store."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path.startswith("/console") and not path.startswith("/console/static/"):
            request = Request(scope)
            scope.setdefault("state", {})[_STATE] = await _lookup(request)
        await self.app(scope, receive, send)


async def _lookup(request: Request) -> Session | None:
    console = console_of(request)
    session_hash = console.signing.session_of(request.cookies.get(COOKIE, ""))
    if session_hash is None:
        return None
    await console.forget_old_passwords()
    found = await console.sessions.find(
        session_hash, app="console", password_tag=console.password_tag
    )
    return Session(found.who, found.id_hash) if found else None


def current_session(request: Request) -> Session | None:
    found: Session | None = getattr(request.state, _STATE, None)
    return found


def require_session(request: Request) -> Session:
    found = current_session(request)
    if found is None:
        raise LoginRequired()
    return found


def csrf_token(console: Console, session: Session) -> str:
    return console.signing.csrf_token(session.id_hash)


async def checked_form(request: Request) -> tuple[Session, FormData]:
    """The posted form of a logged-in user, after the origin and CSRF checks."""
    session = current_session(request)
    if session is None or not same_origin(request):
        raise Forbidden()
    form = await request.form()
    token = form.get("csrf", "")
    if not isinstance(token, str) or not console_of(request).signing.csrf_ok(
        token, session.id_hash
    ):
        raise Forbidden()
    return session, form

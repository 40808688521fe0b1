"""``omni codec-server``: decodes (and encodes) Temporal payloads for the Temporal UI and CLI.

The protocol is Temporal's remote codec: ``POST /decode`` and ``POST /encode`` take and return
``{"payloads": [...]}`` in protobuf JSON. Anyone who can call it can read every payload, so it
needs an Omni API key with the ``console`` scope: ``Authorization: Bearer <key>`` (the temporal
CLI's ``--codec-auth``), or, for the web UI, a session opened by signing in at ``/login`` (the
UI's "include cross-origin credentials" option sends its cookie). The cookie holds a signed
opaque session id, never the key; the session is server-side (orchestrator.store.sessions) and
ends with the key. The login form refuses cross-site posts (Sec-Fetch-Site/Origin and a CSRF
token) and is throttled like the console's. CORS answers only the configured UI origins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from html import escape

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from orchestrator.api.browser import (
    LOGIN_FORM_SECONDS,
    LoginThrottle,
    Signing,
    new_login_nonce,
    same_origin,
    set_cookie,
)
from orchestrator.api.keys import ApiKeys
from orchestrator.api.throttle import FailureThrottle, retry_after_header
from orchestrator.store.sessions import SqlSessions

COOKIE = "omni_codec_session"
LOGIN_COOKIE = "omni_codec_login"
#: The scope a key needs here (reading every payload is a person's job, as in the console).
SCOPE = "console"
Apply = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>Omni codec server</title>
<h1>Omni codec server</h1><p>{message}</p>
<form method="post" action="/login"><label>Omni API key
<input name="key" type="password" autocomplete="off" size="60"></label>
<input type="hidden" name="csrf" value="{csrf}">
<button>Sign in</button></form>
<p>Then, in the Temporal UI's codec settings, set this server's URL and turn on
"include cross-origin credentials".</p>"""


def codec_app(
    codec: PayloadCodec,
    keys: ApiKeys,
    *,
    origins: Sequence[str],
    sessions: SqlSessions,
    secret: bytes,
    throttle: FailureThrottle | None = None,
) -> FastAPI:
    app = FastAPI(title="Omni codec server", docs_url=None, redoc_url=None, openapi_url=None)
    failures = throttle or FailureThrottle()
    logins = LoginThrottle()
    signing = Signing(
        secret, "codec", lifetime_seconds=int(sessions.lifetimes.absolute.total_seconds())
    )

    async def authorised(request: Request) -> None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        key = presented.strip() if scheme.lower() == "bearer" else ""
        if key:
            grant = await keys.verify(key)
            if grant is not None and SCOPE in grant.scopes:
                return
            if grant is not None:
                raise HTTPException(403, f"this API key lacks the {SCOPE!r} scope")
        else:
            session = signing.session_of(request.cookies.get(COOKIE, ""))
            if session and await sessions.find(session, app="codec", password_tag=None):
                return
        host = request.client.host if request.client else "unknown"
        wait = failures.failed(host)
        if wait > 0:
            raise HTTPException(429, "too many failures", {"Retry-After": retry_after_header(wait)})
        raise HTTPException(401, "an Omni API key is required", {"WWW-Authenticate": "Bearer"})

    async def apply(request: Request, fn: Apply) -> Response:
        await authorised(request)
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
            done = Payloads(payloads=await fn(payloads.payloads))
        except (json_format.ParseError, DecodeError, ValueError) as exc:
            raise HTTPException(400, f"cannot apply the codec: {exc}") from None
        return Response(json_format.MessageToJson(done), media_type="application/json")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await apply(request, codec.decode)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await apply(request, codec.encode)

    def login_form(request: Request, message: str, status: int = 200) -> HTMLResponse:
        nonce = new_login_nonce()
        page = HTMLResponse(
            LOGIN_PAGE.format(message=escape(message), csrf=signing.login_token(nonce)), status
        )
        set_cookie(page, request, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS)
        return page

    @app.get("/login")
    async def login_page(request: Request) -> HTMLResponse:
        return login_form(request, "Sign in with an Omni API key.")

    @app.post("/login")
    async def login(request: Request) -> HTMLResponse:
        form = await request.form()
        token, key = form.get("csrf", ""), form.get("key", "")
        if (
            not isinstance(token, str)
            or not isinstance(key, str)
            or not same_origin(request)
            or not signing.login_ok(token, request.cookies.get(LOGIN_COOKIE, ""))
        ):
            raise HTTPException(403, "refused: stale or cross-site login form")
        wait, taken = logins.take(request, key.strip())
        if wait > 0:
            page = login_form(request, "Too many attempts; try again later.", 429)
            page.headers["Retry-After"] = retry_after_header(wait)
            return page
        grant = await keys.verify(key.strip())
        if grant is None:
            return login_form(request, "That key is not valid.", 401)
        if SCOPE not in grant.scopes:
            return login_form(request, f"That key lacks the {SCOPE!r} scope.", 403)
        logins.succeeded(taken)
        cookie, session = signing.new_session()
        who = f"api key {grant.key_id}"
        await sessions.open(session, app="codec", who=who, key_id=grant.key_id, password_tag=None)
        page = HTMLResponse(LOGIN_PAGE.format(message="Signed in.", csrf=""))
        set_cookie(page, request, COOKIE, cookie, signing.lifetime_seconds)
        page.delete_cookie(LOGIN_COOKIE, path="/")
        return page

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    return app

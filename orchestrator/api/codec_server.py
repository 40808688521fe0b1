"""``omni codec-server``: decodes (and encodes) Temporal payloads for the Temporal UI and CLI.

The protocol is Temporal's remote codec: ``POST /decode`` and ``POST /encode`` take and return
``{"payloads": [...]}`` in protobuf JSON. Anyone who can call it can read every payload, so it
needs an Omni API key: ``Authorization: Bearer <key>`` (the temporal CLI's ``--codec-auth``),
or, for the web UI, a cookie set by signing in at ``/login`` (the UI's "include cross-origin
credentials" option sends it). CORS answers only the configured UI origins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from html import escape
from typing import Annotated

from fastapi import FastAPI, Form, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from orchestrator.api.keys import ApiKeys
from orchestrator.api.throttle import FailureThrottle, retry_after_header

COOKIE = "omni_codec_key"
Apply = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>Omni codec server</title>
<h1>Omni codec server</h1><p>{message}</p>
<form method="post" action="/login"><label>Omni API key
<input name="key" type="password" autocomplete="off" size="60"></label>
<button>Sign in</button></form>
<p>Then, in the Temporal UI's codec settings, set this server's URL and turn on
"include cross-origin credentials".</p>"""


def codec_app(
    codec: PayloadCodec,
    keys: ApiKeys,
    *,
    origins: Sequence[str],
    throttle: FailureThrottle | None = None,
) -> FastAPI:
    app = FastAPI(title="Omni codec server", docs_url=None, redoc_url=None, openapi_url=None)
    failures = throttle or FailureThrottle()

    async def authorised(request: Request) -> None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        key = presented.strip() if scheme.lower() == "bearer" else ""
        key = key or request.cookies.get(COOKIE, "")
        if key and await keys.verify(key) is not None:
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

    @app.get("/login")
    async def login_page() -> HTMLResponse:
        return HTMLResponse(LOGIN_PAGE.format(message="Sign in with an Omni API key."))

    @app.post("/login")
    async def login(request: Request, key: Annotated[str, Form()]) -> HTMLResponse:
        if await keys.verify(key.strip()) is None:
            host = request.client.host if request.client else "unknown"
            status = 429 if failures.failed(host) > 0 else 401
            return HTMLResponse(LOGIN_PAGE.format(message="That key is not valid."), status)
        page = HTMLResponse(LOGIN_PAGE.format(message=escape("Signed in.")))
        page.set_cookie(
            COOKIE,
            key.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=12 * 3600,
        )
        return page

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    return app

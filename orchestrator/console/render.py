"""Page rendering: one autoescaping Jinja2 environment, security headers on every response."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from orchestrator.console.auth import console_of, csrf_token, current_session
from orchestrator.console.refs import ref
from orchestrator.console.words import (
    StepNames,
    measured,
    reason_code,
    reason_detail,
    reason_words,
    when,
)

HERE = Path(__file__).parent
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(measured=measured)
ENV.filters.update(
    when=when, reason_words=reason_words, reason_detail=reason_detail, reason_code=reason_code
)
#: Nothing loads from outside this server, in the console or in a message it shows (a
#: sandboxed email iframe inherits the policy).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store, private",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
}


def page(request: Request, view: str, /, status: int = 200, **context: Any) -> HTMLResponse:
    console = console_of(request)
    session = current_session(request)
    html = ENV.get_template(view).render(
        request=request,
        user=session.who if session else "",
        csrf=csrf_token(console, session) if session else "",
        ref=lambda kind, value: ref(console, kind, value),
        step_name=StepNames(console.svc.router.scenarios),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)

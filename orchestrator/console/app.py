"""The console's routes on the API's FastAPI application (orchestrator.app and tests install it)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel
from orchestrator.api.browser import LoginThrottle, Signing
from orchestrator.api.services import Services
from orchestrator.console import customers, message_view, pages, preview
from orchestrator.console.auth import Forbidden, LoginRequired, ResolveSession
from orchestrator.console.render import HEADERS
from orchestrator.console.settings import ConsoleSettings
from orchestrator.console.state import Console
from orchestrator.store.funnel import SqlFunnel
from orchestrator.store.message_views import SqlMessages
from orchestrator.store.sessions import Lifetimes, SqlSessions

HERE = Path(__file__).parent


def build_console(
    svc: Services,
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: bytes,
    settings: ConsoleSettings | None = None,
    channels: dict[str, Channel] | None = None,
    scenario_dirs: list[Path] | None = None,
    templates_dir: Path = Path("templates"),
    email_sender: str = "Omni <omni@localhost>",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    default_timezone: str = "UTC",
) -> Console:
    if len(secret) < 32:
        raise ValueError("the console secret must be at least 32 bytes")
    settings = settings or ConsoleSettings()
    console = Console(
        svc=svc,
        funnel=SqlFunnel(sessions),
        messages=SqlMessages(sessions),
        secret=secret,
        settings=settings,
        channels=channels or {},
        scenario_dirs=scenario_dirs or [],
        templates_dir=templates_dir,
        email_sender=email_sender,
        default_timezone=default_timezone,
    )
    lifetimes = Lifetimes(
        idle=timedelta(minutes=settings.idle_minutes),
        absolute=timedelta(hours=settings.session_hours),
    )
    console.sessions = SqlSessions(sessions, lifetimes, clock=clock)
    console.signing = Signing(
        secret, "console", lifetime_seconds=int(lifetimes.absolute.total_seconds())
    )
    console.throttle = LoginThrottle(
        per_address=settings.logins_per_minute, per_account=settings.password_failures_per_hour
    )
    console.password_tag = console.signing.password_tag(settings.password_text())
    return console


def install_console(app: FastAPI, console: Console) -> None:
    app.state.console = console
    app.add_middleware(ResolveSession)
    serve = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        # At start: a changed console password ends the old one's sessions everywhere.
        await console.forget_old_passwords()
        async with serve(app) as state:
            yield state

    app.router.lifespan_context = lifespan
    for module in (pages, message_view, preview, customers):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/console/login", status_code=303, headers=HEADERS)

    @app.exception_handler(Forbidden)
    async def refused(request: Request, exc: Forbidden) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Refused</title><h1>Refused</h1><p>This form did not come "
            "from a logged-in console page.</p>",
            status_code=403,
            headers=HEADERS,
        )

"""The console's routes on the API's FastAPI application (worker.py and tests install it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import Channel
from orchestrator.api.services import Services
from orchestrator.console import customers, messages, pages, preview
from orchestrator.console.auth import Forbidden, LoginRequired
from orchestrator.console.render import HEADERS
from orchestrator.console.settings import Console, ConsoleSettings
from orchestrator.store.funnel import SqlFunnel
from orchestrator.store.messages import SqlMessages

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
) -> Console:
    if len(secret) < 32:
        raise ValueError("the console secret must be at least 32 bytes")
    return Console(
        svc=svc,
        funnel=SqlFunnel(sessions),
        messages=SqlMessages(sessions),
        secret=secret,
        settings=settings or ConsoleSettings(),
        channels=channels or {},
        scenario_dirs=scenario_dirs or [],
        templates_dir=templates_dir,
        email_sender=email_sender,
    )


def install_console(app: FastAPI, console: Console) -> None:
    app.state.console = console
    for module in (pages, messages, preview, customers):
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

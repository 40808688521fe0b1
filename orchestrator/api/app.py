"""The FastAPI application. Only tracking, unsubscribe, webhooks, health and metrics are open."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orchestrator.api import (
    contacts,
    events,
    preference_center,
    preferences,
    runs,
    telegram_hooks,
    tracking_routes,
    twilio_hooks,
)
from orchestrator.api.body_limit import BodyLimit
from orchestrator.api.docs import install_docs
from orchestrator.api.problem_docs import document
from orchestrator.api.problems import install_problems
from orchestrator.api.relay import relaying
from orchestrator.api.services import Services


def create_app(svc: Services) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with relaying(svc):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Omni",
        summary="Customer events in; durable omnichannel scenarios out.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = svc
    app.include_router(events.router)
    # Before contacts: "/v1/contacts/{id}/runs" must not be read as a contact id ending "/runs".
    app.include_router(runs.router)
    app.include_router(preferences.router)  # before contacts too ("/{id}/preferences")
    app.include_router(contacts.router)
    app.include_router(twilio_hooks.router)
    app.include_router(telegram_hooks.router)
    app.include_router(tracking_routes.router)
    app.include_router(preference_center.router)

    app.add_middleware(BodyLimit, limit=svc.settings.max_body_bytes)
    install_docs(app)
    install_problems(app, store_deadline_seconds=svc.settings.store_deadline_seconds)
    document(app)

    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent.parent / "static"), name="static"
    )

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus metrics of this process (no PII: scenario, channel and reason labels)."""
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

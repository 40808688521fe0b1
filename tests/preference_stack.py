"""The API served on a free port over a freshly migrated store, with scenarios that declare
topics (marketing cart_reminders and webinars, transactional order_updates): what the
preference center tests and its browser tests share. No worker: the page and the API need none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import write_scenario
from temporalio.client import Client

from orchestrator.api.app import create_app
from orchestrator.api.serve import free_port, serving
from orchestrator.api.services import Services, build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.engine.tracking import Tracker
from orchestrator.language.model import Scenario
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.preferences import SqlPreferences

TEMPLATES = {"x/hello/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}"}


def topic_scenario(tmp: Path, sid: str, topic: str, category: str = "marketing") -> Scenario:
    folder = tmp / sid
    folder.mkdir()
    return write_scenario(
        folder,
        f"""
        scenario: {sid}
        category: {category}
        topic: {topic}
        trigger: {sid}_event
        steps:
          - send: {{email: x/hello}}
        sample:
          {sid}_event: {{}}
        """,
        TEMPLATES,
    )


@dataclass
class Stack:
    http: httpx.AsyncClient
    base: str
    key: str
    svc: Services
    tracker: Tracker
    prefs: SqlPreferences

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def customer(self, cid: str, **fields: object) -> None:
        done = await self.http.put(f"/v1/contacts/{cid}", headers=self.auth, json=fields)
        assert done.status_code == 200, done.text

    def link(self, cid: str) -> str:
        return self.tracker.preferences_url(customer_id=cid)


@asynccontextmanager
async def preference_stack(client: Client, tmp: Path, db_url: str) -> AsyncIterator[Stack]:
    scenarios = [
        topic_scenario(tmp, "cart", "cart_reminders"),
        topic_scenario(tmp, "webinar", "webinars"),
        topic_scenario(tmp, "orders", "order_updates", "transactional"),
    ]
    engine = make_engine(db_url)
    port = free_port()
    tracker = Tracker(b"p" * 32, f"http://127.0.0.1:{port}")
    svc = build_services(
        client,
        sessions(engine),
        {s.id: s for s in scenarios},
        task_queue=f"prefs-{uuid.uuid4()}",
        settings=ApiSettings(postal_address="Shop GmbH, Hauptstr. 1, Berlin", relay_interval=0),
        tracker=tracker,
    )
    key = await svc.keys.create("crm <sync>", scopes=["ingest", "read", "admin"])
    try:
        async with (
            serving(create_app(svc), port=port) as base,
            httpx.AsyncClient(base_url=base) as http,
        ):
            yield Stack(
                http, base, key, svc, tracker, SqlPreferences(svc.contacts.sessions, svc.contacts)
            )
    finally:
        await engine.dispose()

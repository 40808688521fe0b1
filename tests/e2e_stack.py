"""The whole stack for end-to-end tests: a migrated SQLite store, the API on a free port with
tracking, and a worker with the given channels, on the session's Temporal dev server."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harness import write_scenario
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.base import Channel
from orchestrator.api.app import create_app
from orchestrator.api.keys import ALL_SCOPES
from orchestrator.api.serve import free_port, serving
from orchestrator.api.services import Services, build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.app.processes import app_with_console
from orchestrator.config.settings import load_settings
from orchestrator.engine.activities import Activities
from orchestrator.engine.policies import FrequencyPolicy
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.tracking import Tracker
from orchestrator.store.db import make_engine, sessions


@dataclass
class Running:
    http: httpx.AsyncClient
    svc: Services
    key: str

    async def post_event(self, body: dict[str, Any]) -> None:
        answer = await self.http.post(
            "/v1/events", json=body, headers={"Authorization": f"Bearer {self.key}"}
        )
        assert answer.status_code == 202, answer.text

    async def result(self, wid: str) -> dict[str, Any]:
        handle = self.svc.client.get_workflow_handle(wid)
        return await asyncio.wait_for(handle.result(), timeout=30)

    async def state(self, wid: str) -> dict[str, Any]:
        return await self.svc.client.get_workflow_handle(wid).query("state")  # type: ignore[no-any-return]


def local(url: str) -> str:
    """A URL the API put in a message, as a path for the test's HTTP client."""
    return re.sub(r"^http://127\.0\.0\.1:\d+", "", url)


@asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment,
    tmp_path: Path,
    scenario_yaml: str,
    templates: dict[str, str],
    channels: dict[str, Channel],
    policy: FrequencyPolicy | None = None,
    trusted_push: tuple[str, ...] = (),
    client: Client | None = None,
    console_password: str = "",
) -> AsyncIterator[Running]:
    """``client`` (default: the environment's) is what the API and the worker write with.
    With ``console_password`` the console is served too (at /console, that password)."""
    client = client or env.client
    scenario = write_scenario(tmp_path, scenario_yaml, templates)
    url = await migrated_sqlite(tmp_path)
    engine = make_engine(url)
    port = free_port()
    tracker = Tracker(b"e" * 32, f"http://127.0.0.1:{port}")
    queue = f"e2e-{uuid.uuid4()}"
    svc = build_services(
        client,
        sessions(engine),
        {scenario.id: scenario},
        task_queue=queue,
        tracker=tracker,
        settings=ApiSettings(
            public_base_url=f"http://127.0.0.1:{port}", trusted_push_origins=trusted_push
        ),
    )
    activities = Activities(
        directory=svc.contacts,
        send_log=svc.send_log,
        events=svc.events,
        channels=channels,
        tracker=tracker,
        short_links=svc.short_links,
        policy=policy,
        inbound=svc.inbound,
    )
    if not console_password:
        app = create_app(svc)
    else:
        config = load_settings(
            {
                "OMNI_CONSOLE_PASSWORD": console_password,
                "OMNI_TRACKING_SECRET": "e2e-console-secret-" + "x" * 20,
                "OMNI_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "OMNI_SCENARIOS_DIR": str(tmp_path / "scenarios"),
                "OMNI_TEMPLATES_DIR": str(tmp_path / "templates"),
                "DATABASE_URL": url,
            }
        )
        app = app_with_console(config, svc, sessions(engine), channels)
    key = await svc.keys.create("e2e", scopes=ALL_SCOPES)
    try:
        async with (
            build_worker(client, task_queue=queue, activities=activities),
            serving(app, port=port) as base,
            httpx.AsyncClient(base_url=base) as http,
        ):
            yield Running(http, svc, key)
    finally:
        await engine.dispose()

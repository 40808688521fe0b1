"""Fixtures: the API served by uvicorn on a free port, a real SQLite database, a Temporal
dev server and a worker whose channels record what they send."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from accepting import accepting
from api_stack import Api
from harness import quick_cart
from run_endings import counting_client
from temporalio.testing import WorkflowEnvironment
from tests_store_url import database_url

from orchestrator.api.app import create_app
from orchestrator.api.keys import ALL_SCOPES
from orchestrator.api.serve import free_port, serving
from orchestrator.api.services import build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.engine.activities import Activities
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.tracking import Tracker
from orchestrator.store.db import make_engine, sessions


@pytest.fixture(params=["sqlite", "postgresql"])
async def api_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async for url in database_url(request.param, tmp_path):
        yield url


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, tmp_path: Path, api_db: str, request: pytest.FixtureRequest
) -> AsyncIterator[Api]:
    spread = request.node.get_closest_marker("spread")
    deadline = request.node.get_closest_marker("store_deadline")
    first_wait = request.node.get_closest_marker("first_wait")
    scenario = quick_cart(
        tmp_path,
        spread=spread.args[0] if spread else "",
        first_wait=first_wait.args[0] if first_wait else "1h",
    )
    engine = make_engine(api_db)
    factory = sessions(engine)
    queue = f"api-{uuid.uuid4()}"
    port = free_port()
    tracker = Tracker(b"k" * 32, f"http://127.0.0.1:{port}")
    # The API's client counts its Temporal calls (what a page view costs); the worker's does not.
    client, calls = counting_client(dev_env.client)
    svc = build_services(
        client,
        factory,
        {scenario.id: scenario},
        task_queue=queue,
        settings=ApiSettings(
            max_body_bytes=64_000,
            telegram_secret_token="tg-secret",
            telegram_bot_username="omni_test_bot",
            postal_address="Shop GmbH, Hauptstr. 1, Berlin",
            store_deadline_seconds=deadline.args[0] if deadline else 5.0,
        ),
        tracker=tracker,
    )
    providers = accepting()
    activities = Activities(
        directory=svc.contacts,
        send_log=svc.send_log,
        channels=dict(providers),
        tracker=tracker,
        events=svc.events,
    )
    key = await svc.keys.create("test shop", scopes=ALL_SCOPES)
    async with (
        build_worker(dev_env.client, task_queue=queue, activities=activities),
        serving(create_app(svc), port=port) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        yield Api(http, key, svc, providers, cart=f"c-{uuid.uuid4().hex[:10]}", calls=calls)
    await engine.dispose()

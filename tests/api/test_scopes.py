"""Every API route checks its scope: a key without it gets 403, a key with it gets past the
check (whatever the route then answers), and a key made before scopes holds them all."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from orchestrator.api.app import create_app
from orchestrator.api.keys import SCOPES, ApiKeys, key_id_of
from orchestrator.api.serve import serving
from orchestrator.api.services import build_services
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.tables import ApiKeyRow

OMNI = str(Path(sys.executable).parent / "omni")
EVENT = {"name": "seen", "customer_id": "scope-c", "event_id": "scope-e", "data": {}}
CONSENT = {"channel": "email", "granted": True, "source": "test"}
CANCEL = {"reason": "test"}
PUSH = {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "a", "auth": "b"}}
#: (method, path, body, scope it needs): every /v1 route of the app.
C = "/v1/contacts/{contact_id:path}"
R = "/v1/runs/{workflow_id:path}"
Route = tuple[str, str, str, object, str]
#: (method, route, a path it takes, body, the scope it needs): every /v1 route of the app.
ROUTES: list[Route] = [
    ("POST", "/v1/events", "/v1/events", EVENT, "ingest"),
    ("PUT", C, "/v1/contacts/scope-c", {"first_name": "S"}, "ingest"),
    ("POST", f"{C}/consents", "/v1/contacts/scope-c/consents", CONSENT, "ingest"),
    ("POST", f"{C}/push-subscriptions", "/v1/contacts/scope-c/push-subscriptions", PUSH, "ingest"),
    ("POST", f"{C}/telegram-link", "/v1/contacts/scope-c/telegram-link", None, "ingest"),
    ("GET", C, "/v1/contacts/scope-c", None, "read"),
    ("GET", "/v1/contacts/{contact_id:path}/runs", "/v1/contacts/scope-c/runs", None, "read"),
    ("GET", R, "/v1/runs/quick_cart/customer-scope-c", None, "read"),
    ("POST", f"{R}/cancel", "/v1/runs/quick_cart/customer-scope-c/cancel", CANCEL, "admin"),
    ("DELETE", C, "/v1/contacts/scope-c", None, "admin"),
    ("GET", f"{C}/preferences", "/v1/contacts/scope-c/preferences", None, "read"),
    ("GET", f"{C}/preferences/audit", "/v1/contacts/scope-c/preferences/audit", None, "read"),
    (
        "PUT",
        f"{C}/preferences",
        "/v1/contacts/scope-c/preferences",
        {"paused_until": None},
        "ingest",
    ),
]
IDS = [f"{method} {path}" for method, path, *_ in ROUTES]


@dataclass
class Served:
    http: httpx.AsyncClient
    keys: ApiKeys
    #: scope -> a key holding only that scope
    single: dict[str, str]
    url: str
    app: FastAPI


@pytest.fixture(scope="module")
async def served(
    time_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    url = await migrated_sqlite(tmp_path_factory.mktemp("scopes"))
    engine = make_engine(url)
    svc = build_services(time_env.client, sessions(engine), {}, task_queue="scopes")
    single = {scope: await svc.keys.create(scope, scopes=[scope]) for scope in SCOPES}
    app = create_app(svc)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        yield Served(http, svc.keys, single, url, app)
    await engine.dispose()


async def call(served: Served, route: Route, key: str) -> httpx.Response:
    method, _, path, body, _ = route
    return await served.http.request(
        method, path, json=body, headers={"Authorization": f"Bearer {key}"}
    )


def test_the_table_covers_every_v1_route(served: Served) -> None:
    documented = {
        (method.upper(), path)
        for path, methods in served.app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in methods
    }
    assert documented == {(m, template.replace(":path", "")) for m, template, *_ in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize("scope", sorted(SCOPES))
async def test_each_route_needs_its_scope(served: Served, route: Route, scope: str) -> None:
    answer = await call(served, route, served.single[scope])
    if scope == route[4]:
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert f"lacks the {route[4]!r} scope" in answer.json()["detail"]


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
async def test_a_key_made_before_scopes_holds_every_scope(served: Served, route: Route) -> None:
    key = await served.keys.create("legacy", scopes=["read"])
    async with served.keys.sessions() as s, s.begin():
        await s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id_of(key)).values(scopes=None))
    assert key_id_of(key) in await served.keys.unscoped()  # what omni doctor names
    answer = await call(served, route, key)
    assert answer.status_code not in (401, 403), answer.text


def test_the_cli_creates_a_key_with_the_scopes_asked_for(served: Served) -> None:
    env = {**os.environ, "DATABASE_URL": served.url}
    made = subprocess.run(
        [OMNI, "key", "create", "shop", "--scope", "ingest,read"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "scopes: ingest, read" in made.stderr
    typo = subprocess.run(
        [OMNI, "api-key", "create", "shop", "--scope", "ingest,raed"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert typo.returncode == 2 and "raed" in typo.stderr
    shown = subprocess.run([OMNI, "api-key", "--help"], capture_output=True, text=True, check=True)
    for scope in SCOPES:
        assert scope in shown.stdout

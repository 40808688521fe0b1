"""What looking costs: billable Temporal actions per page view of the run API, the console
and ``omni doctor``.

    .venv/bin/python bench/look.py [--customers 4]

Temporal Cloud bills a query, a signal, a start and an update one action each; describe,
list, count and history reads are free (/work/shared/FACTS.md, docs.temporal.io/cloud/actions).
The bench starts a dev server (its own ``action`` counter on a metrics port), the API with
the console as ``omni api`` builds it (app_with_console, SQLite, every channel
record-only), a worker, and per customer three runs: one ended (a quick scenario that
records one email), one running (abandoned_cart, waiting on its first timer) and one
cancelled. Then it views each page once per customer and prints, per page view, the Temporal
calls the API's client made (counted by a client interceptor, by kind) and the actions the
server's own counter saw meanwhile (nothing else moves then: the running runs wait on an
hour's timer). ``omni doctor`` runs as a process of its own: only the server's counter sees
it. Appended to bench/results/look.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, Interceptor, OutboundInterceptor

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.runlog import Run  # noqa: E402
from bench.server_metrics import ActionCounter  # noqa: E402
from orchestrator.api.keys import ALL_SCOPES  # noqa: E402
from orchestrator.api.serve import free_port, serving  # noqa: E402
from orchestrator.api.services import build_services  # noqa: E402
from orchestrator.app.processes import app_with_console, build_activities  # noqa: E402
from orchestrator.app.providers import build_channels  # noqa: E402
from orchestrator.config.settings import load_settings  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.runtime import build_worker  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402

PASSWORD = "look-console-password-0123456789"
QUICK = """\
scenario: look_quick
title: Quick
description: One email, then the run ends.
trigger: {event: ping, per: ping.id}
steps:
  - send: {email: look/hello}
sample:
  ping: {ping: {id: p-1}}
"""
TEMPLATE = "{% block subject %}Hello{% endblock %}{% block html %}<p>Hello there</p>{% endblock %}"
#: Client calls Temporal Cloud bills (docs.temporal.io/cloud/actions).
BILLABLE = ("start_workflow", "signal_workflow", "query_workflow", "start_workflow_update")


class Calls(Interceptor):
    """Counts every call a client makes to Temporal, by the interceptor method's name."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self.count)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, count: Counter[str]) -> None:
        super().__init__(next)
        for name in dir(OutboundInterceptor):
            if not name.startswith("_") and callable(getattr(next, name)):
                setattr(self, name, _counted(name, getattr(next, name), count))


def _counted(name: str, call: Callable[..., Any], count: Counter[str]) -> Callable[..., Any]:
    def counted(input: Any) -> Any:
        count[name] += 1
        return call(input)

    return counted


def counting_client(client: Client) -> tuple[Client, Calls]:
    calls = Calls()
    config = client.config()
    config["interceptors"] = [calls]
    return Client(**config), calls


def project(folder: Path) -> None:
    (folder / "scenarios").mkdir(parents=True)
    for f in (ROOT / "scenarios").glob("*.yaml"):
        (folder / "scenarios" / f.name).write_text(f.read_text(encoding="utf-8"))
    (folder / "scenarios" / "look_quick.yaml").write_text(QUICK, encoding="utf-8")
    shutil.copytree(ROOT / "templates", folder / "templates")
    (folder / "templates" / "look" / "hello").mkdir(parents=True)
    (folder / "templates" / "look" / "hello" / "email.j2").write_text(TEMPLATE)


async def main(customers: int) -> None:
    run = Run("look", {"customers": customers})
    folder = Path(tempfile.mkdtemp(prefix="omni-look-"))
    project(folder)
    url = f"sqlite+aiosqlite:///{folder / 'omni.db'}"
    await upgrade_async(url)
    metrics_port = free_port()
    env = await start_dev_server(metrics_port=metrics_port)
    counter = ActionCounter(metrics_port)
    async with env:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {
            "OMNI_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "DATABASE_URL": url,
            "OMNI_SCENARIOS_DIR": str(folder / "scenarios"),
            "OMNI_TEMPLATES_DIR": str(folder / "templates"),
            "OMNI_DATA_DIR": str(folder / "data"),
            "OMNI_TASK_QUEUE": "omni",
            "OMNI_PUBLIC_URL": base,
            "OMNI_TRACKING_SECRET": "look-tracking-secret-" + "x" * 24,
            "OMNI_CONSOLE_PASSWORD": PASSWORD,
            "OMNI_RECORD_ONLY": "email,push,telegram,sms,whatsapp",
        }
        config = load_settings(settings)
        engine = make_engine(url)
        factory = sessions(engine)
        scenarios = load_or_raise([folder / "scenarios"], folder / "templates")
        client, calls = counting_client(env.client)
        svc = build_services(client, factory, scenarios, task_queue="omni", settings=config.api)
        app = app_with_console(config, svc, factory)
        key = await svc.keys.create("look", scopes=ALL_SCOPES)
        channels = build_channels(config)
        activities = build_activities(config, factory, channels)
        async with (
            build_worker(env.client, task_queue="omni", activities=activities),
            serving(app, port=port),
            httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api,
        ):
            people = await runs_of_customers(api, client, customers)
            await login(api, base)
            views = pages(api, people)
            print(
                f"{customers} customers, each with an ended, a running and a cancelled run; "
                "per page view:"
            )
            print(f"  {'page':<52} {'billable (client)':>17} {'server actions':>14}  free calls")
            for name, view in views.items():
                per_view: list[dict[str, float]] = []
                for one in view:
                    calls.count.clear()
                    before = await counter.settled()
                    await one()
                    after = await counter.settled()
                    billable = sum(calls.count[k] for k in BILLABLE)
                    free = {k: v for k, v in calls.count.items() if k not in BILLABLE}
                    per_view.append({"billable": billable, "server": after - before, **free})
                show(run, name, per_view)
            await doctor(run, counter, settings)
        await engine.dispose()
    run.save()


def show(run: Run, name: str, views: list[dict[str, float]]) -> None:
    billable = max(v["billable"] for v in views)
    server = max(v["server"] for v in views)
    free: Counter[str] = Counter()
    for v in views:
        free.update({k: n for k, n in v.items() if k not in ("billable", "server")})
    shown = ", ".join(f"{k} {n / len(views):g}" for k, n in sorted(free.items())) or "none"
    print(f"  {name:<52} {billable:>17g} {server:>14g}  {shown}")
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    run.set(**{f"{key}_billable": billable, f"{key}_server_actions": server})
    run.notes.setdefault("pages", {})[key] = name


async def runs_of_customers(
    api: httpx.AsyncClient, client: Any, customers: int
) -> list[dict[str, str]]:
    """Per customer: an ended, a running and a cancelled run (their workflow ids)."""
    tag = uuid.uuid4().hex[:6]
    people = []
    for i in range(customers):
        who = f"look-{tag}-{i}"
        contact = {"email": f"{who}@example.com", "consents": {"email": True}}
        ping = {
            "name": "ping",
            "customer_id": who,
            "event_id": f"{who}-p",
            "data": {"ping": {"id": "p"}},
            "contact": contact,
        }
        cart = {"cart": {"id": f"{who}-c", "total": 42.0, "url": "https://shop.example/c"}}
        cart2 = {"cart": {"id": f"{who}-d", "total": 42.0, "url": "https://shop.example/c"}}
        runs = {}
        for label, body in (
            ("ended", ping),
            (
                "running",
                {"name": "cart_updated", "customer_id": who, "event_id": f"{who}-c", "data": cart},
            ),
            (
                "cancelled",
                {"name": "cart_updated", "customer_id": who, "event_id": f"{who}-d", "data": cart2},
            ),
        ):
            answer = await api.post("/v1/events", json=body)
            assert answer.status_code == 202, answer.text
            [result] = answer.json()["results"]
            runs[label] = result["runs"][0]
        await client.get_workflow_handle(runs["ended"]).result()
        cancelled = await api.post(f"/v1/runs/{runs['cancelled']}/cancel", json={"reason": "bench"})
        assert cancelled.status_code == 200, cancelled.text
        people.append({"id": who, **runs})
    return people


async def login(http: httpx.AsyncClient, base: str) -> None:
    form = await http.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = await http.post(
        "/console/login",
        data={"csrf": csrf.group(1), "secret": PASSWORD},
        headers={"Origin": base},
    )
    assert done.status_code == 303, done.text[:300]


def pages(
    http: httpx.AsyncClient, people: list[dict[str, str]]
) -> dict[str, list[Callable[[], Awaitable[None]]]]:
    def get(path: str, status: int = 200) -> Callable[[], Awaitable[None]]:
        async def view() -> None:
            answer = await http.get(path)
            assert answer.status_code == status, (path, answer.status_code, answer.text[:200])

        return view

    def customer_page(who: str) -> Callable[[], Awaitable[None]]:
        async def view() -> None:
            listing = await http.get("/console/customers")
            csrf = re.search(r'name="csrf" value="([^"]+)"', listing.text)
            assert csrf is not None
            found = await http.post(
                "/console/customers",
                data={"csrf": csrf.group(1), "q": who},
                headers={"Origin": str(http.base_url).rstrip("/")},
            )
            assert found.status_code == 303
            page = await http.get(found.headers["location"])
            assert page.status_code == 200

        return view

    return {
        "API: GET /v1/contacts/{id}/runs (3 runs)": [
            get(f"/v1/contacts/{p['id']}/runs") for p in people
        ],
        "API: GET /v1/runs/{id}, ended": [get(f"/v1/runs/{p['ended']}") for p in people],
        "API: GET /v1/runs/{id}, cancelled": [get(f"/v1/runs/{p['cancelled']}") for p in people],
        "API: GET /v1/runs/{id}, running": [get(f"/v1/runs/{p['running']}") for p in people],
        "API: GET /v1/runs/{id}?live=true, running (asks the run)": [
            get(f"/v1/runs/{p['running']}?live=true") for p in people
        ],
        "API: GET /v1/runs/{id}, unknown id": [get("/v1/runs/nobody/x", 404)],
        "console: scenarios (/console)": [get("/console")],
        "console: funnel (/console/scenarios/abandoned_cart)": [
            get("/console/scenarios/abandoned_cart")
        ],
        "console: messages (/console/messages)": [get("/console/messages")],
        "console: a customer's page (3 runs)": [customer_page(p["id"]) for p in people],
    }


async def doctor(run: Run, counter: ActionCounter, settings: dict[str, str]) -> None:
    before = await counter.settled()
    done = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "omni"), "doctor"],
        cwd=ROOT,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    after = await counter.settled()
    lines = done.stdout.splitlines()
    checks = f"{sum(x.startswith('ok') for x in lines)} checks ok, exit {done.returncode}"
    print(f"  {'omni doctor (its own process)':<52} {'-':>17} {after - before:>14g}  ({checks})")
    run.set(omni_doctor_server_actions=after - before)
    run.notes.setdefault("pages", {})["omni_doctor"] = "`omni doctor` (its own process)"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.customers))
    sys.stdout.flush()
    os._exit(0)

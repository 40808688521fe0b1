"""The console's test stack, wired the way ``omni api`` and ``omni dev`` wire it (orchestrator.app):
the shipped scenarios plus a quick one, a migrated SQLite store, the API with the console on a
free port, a worker, omni dev's SMTP sink (mail kept as .eml files) and recording channels."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from run_endings import Calls, counting_client
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.email import EmailChannel
from orchestrator.api.keys import ALL_SCOPES
from orchestrator.api.serve import free_port, serving
from orchestrator.api.services import Services, build_services
from orchestrator.app.clients import tracker
from orchestrator.app.processes import (
    app_with_console,
    build_activities,
    build_learning,
    build_timing,
)
from orchestrator.app.providers import build_channels
from orchestrator.config.settings import load_settings
from orchestrator.dev.sinks import start_smtp_sink
from orchestrator.engine.runtime import build_worker
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import Scenario
from orchestrator.store.db import make_engine, sessions

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "console-pass-0123456789"
PLAY = """\
scenario: console_play
title: Console play
description: An email, and an SMS when nobody reacts in time.
trigger: {event: basket_left, per: cart.id}
goal: {event: basket_bought}
steps:
  - escalate:
      - email: play/reminder
        wait: 30s
      - sms: play/reminder
sample:
  basket_left: {cart: {id: c-1, total: 42.5, url: "https://shop.example/cart"}}
"""
PLAY_TEMPLATES = {
    "play/reminder/email": "{% block subject %}Your basket is waiting{% endblock %}"
    "{% block html %}<p>Hello {{ contact.first_name or 'there' }}, your basket holds "
    "{{ money(cart.total) }}.</p>"
    '<p><a id="back" href="{{ link(cart.url) }}">Back to your basket</a></p>{% endblock %}',
    "play/reminder/email.ru": "{% block subject %}Ваша корзина ждёт{% endblock %}"
    "{% block html %}<p>Здравствуйте, {{ contact.first_name or 'друг' }}! В корзине "
    '{{ money(cart.total) }}.</p><p><a href="{{ link(cart.url) }}">Вернуться</a></p>'
    "{% endblock %}",
    "play/reminder/sms": "{% block text %}Your basket: {{ link(cart.url) }}{% endblock %}",
}
#: Customers whose data tries to break the pages: markup, header injection, unicode.
HOSTILE = {
    "x-script": {"first_name": "<script>alert(1)</script>", "last_name": "<b>bold</b>"},
    "x-crlf": {"first_name": "Eve\r\nX-Injected: yes", "last_name": 'O\'Brien "Q"'},
    "x-unicode": {"first_name": "Zoë 🛒 \u202egnp.exe", "last_name": "Ω & <> 𝔘𝔫𝔦"},
}


@dataclass
class ConsoleStack:
    base: str
    http: httpx.AsyncClient
    svc: Services
    key: str
    mail: Path
    data: Path
    scenarios: dict[str, Scenario]
    #: The worker's task queue.
    queue: str
    #: The Temporal calls the API and console have made (their client counts them).
    calls: Calls

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def basket(self, customer: str, contact: dict[str, Any] | None = None) -> str:
        """Trigger console_play for a fresh cart of ``customer``; returns the workflow id."""
        cart = f"c-{uuid.uuid4().hex[:8]}"
        body = {
            "name": "basket_left",
            "customer_id": customer,
            "event_id": f"ev-{cart}",
            "data": {"cart": {"id": cart, "total": 42.5, "url": "https://shop.example/cart"}},
            "contact": {
                "email": f"{customer}@example.com",
                "phone": "+15005550006",
                "consents": {"email": True, "sms": True},
                **(contact or {}),
            },
        }
        answer = await self.http.post("/v1/events", json=body, headers=self.auth)
        assert answer.status_code == 202, answer.text
        return f"console_play/customer-{customer}/cart-{cart}"

    async def wait_sent(self, customer: str, count: int = 1, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await self.messages_of(customer)
            if sum(1 for r in rows if r["status"] in ("sent", "recorded")) >= count:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{customer}: not sent: {rows}"
            await asyncio.sleep(0.1)

    async def messages_of(self, customer: str) -> list[dict[str, Any]]:
        from orchestrator.store.message_views import SqlMessages

        found = await SqlMessages(self.svc.send_log.sessions).of_customer(customer)
        return [vars(m) for m in found]


def copy_project_scenarios(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, Scenario]:
    """The shipped scenarios, console_play, and ``extra`` (file name -> YAML)."""
    shutil.copytree(ROOT / "scenarios", tmp / "scenarios")
    shutil.copytree(ROOT / "templates", tmp / "templates")
    (tmp / "scenarios" / "console_play.yaml").write_text(PLAY, encoding="utf-8")
    for name, text in (extra or {}).items():
        (tmp / "scenarios" / name).write_text(text, encoding="utf-8")
    for name, source in PLAY_TEMPLATES.items():
        path = tmp / "templates" / f"{name}.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return load_or_raise([tmp / "scenarios"], tmp / "templates")


@asynccontextmanager
async def console_stack(
    env: WorkflowEnvironment,
    tmp: Path,
    extra: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
) -> AsyncIterator[ConsoleStack]:
    """``settings``: variables over the stack's own (e.g. a Twilio peer for SMS)."""
    scenarios = copy_project_scenarios(tmp, extra)
    url = await migrated_sqlite(tmp)
    engine = make_engine(url)
    factory = sessions(engine)
    port, smtp_port = free_port(), free_port()
    sink = start_smtp_sink(tmp / "mail", port=smtp_port)
    queue = f"console-{uuid.uuid4()}"
    config = load_settings(
        {
            "OMNI_SMTP_HOST": "127.0.0.1",
            "OMNI_SMTP_PORT": str(smtp_port),
            "OMNI_SMTP_SECURITY": "none",
            "OMNI_TRACKING_SECRET": "console-tracking-secret-" + "x" * 20,
            "OMNI_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OMNI_KEEP_MESSAGES": "1",
            "OMNI_CONSOLE_PASSWORD": PASSWORD,
            "OMNI_SCENARIOS_DIR": str(tmp / "scenarios"),
            "OMNI_TEMPLATES_DIR": str(tmp / "templates"),
            "OMNI_DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": url,
            "OMNI_TASK_QUEUE": queue,
            "OMNI_FREQUENCY_CAPS": "50 per 1d",
            "OMNI_RECORD_ONLY": "push,telegram,sms,whatsapp",
            "OMNI_TEST_RECIPIENTS": "qa@example.com,+15005550006",
            **(settings or {}),
        }
    )
    channels = build_channels(config)
    # The API's client counts its Temporal calls (what a page view costs); the worker's does not.
    client, calls = counting_client(env.client)
    svc = build_services(
        client,
        factory,
        scenarios,
        task_queue=queue,
        settings=config.api,
        tracker=tracker(config),
    )
    activities = build_activities(config, factory, channels)
    app = app_with_console(config, svc, factory, channels)
    key = await svc.keys.create("console tests", scopes=ALL_SCOPES)
    try:
        async with (
            build_worker(
                env.client,
                task_queue=queue,
                activities=activities,
                learning=build_learning(factory, activities),
                timing=build_timing(factory, activities),
            ),
            serving(app, port=port) as base,
            httpx.AsyncClient(base_url=base) as http,
        ):
            yield ConsoleStack(
                base, http, svc, key, tmp / "mail", tmp / "data", scenarios, queue, calls
            )
    finally:
        email = channels["email"]
        if isinstance(email, EmailChannel):
            await email.close()
        sink.stop()
        await engine.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


async def log_in(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"csrf": csrf_of(form.text), "secret": secret},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )


@asynccontextmanager
async def logged_in(
    stack: ConsoleStack, secret: str = PASSWORD
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base) as client:
        answer = await log_in(client, secret)
        assert answer.status_code == 303, answer.text
        yield client


async def profile_of(stack: ConsoleStack, customer: str) -> str:
    """The customer's profile page, found the way a marketer finds it."""
    async with logged_in(stack) as client:
        page = await client.get("/console/customers")
        found = await client.post(
            "/console/customers",
            data={"q": customer, "csrf": csrf_of(page.text)},
            headers={"Origin": stack.base},
        )
        return (await client.get(found.headers["location"])).text


def run_row(profile: str, workflow_id: str) -> str:
    row = re.search(rf'<tr data-workflow="{re.escape(workflow_id)}"[^>]*>(.*?)</tr>', profile, re.S)
    assert row is not None, profile
    return row.group(1)

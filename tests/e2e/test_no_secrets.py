"""Every secret configured, the worker and the API started as Omni starts them (run_worker,
run_api, from variables), every channel exercised against its local peer, every webhook
and the codec server called — and no secret value in any log record, in the run's history or
in ``omni doctor``'s output."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from harness import write_scenario
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from sqlalchemy import make_url
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.testing import WorkflowEnvironment
from tests_store_url import database_url
from twilio.request_validator import RequestValidator

from channels.vapid import generate_vapid_keys
from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import free_port, serving
from orchestrator.app.clients import payload_codec
from orchestrator.app.processes import run_api, run_codec_server, run_worker
from orchestrator.app.providers import build_channels
from orchestrator.config.settings import Settings, load_settings
from orchestrator.engine.codec import sealed
from orchestrator.engine.codec_keys import new_key
from orchestrator.store.db import make_engine, sessions

LADDER = """
scenario: cart4
trigger: {event: cart_updated}
goal: {event: order_placed}
steps:
  - wait: 1s
  - escalate:
      - email: cart4/reminder
        wait: 1s
      - push: cart4/reminder
        wait: 1s
      - telegram: cart4/reminder
        wait: 1s
      - sms: cart4/reminder
sample:
  cart_updated: {cart: {id: c-1, url: "https://shop.example/cart"}}
"""
TEMPLATES = {
    "cart4/reminder/email": "{% block subject %}Your cart{% endblock %}"
    '{% block html %}<p><a href="{{ link(cart.url) }}">Back to your cart</a></p>{% endblock %}',
    "cart4/reminder/push": "{% block title %}Your cart{% endblock %}"
    "{% block body %}Still there{% endblock %}{% block url %}{{ link(cart.url) }}{% endblock %}",
    "cart4/reminder/telegram": "{% block text %}<b>Your cart</b>{% endblock %}"
    "{% block buttons %}Open | {{ link(cart.url) }}{% endblock %}",
    "cart4/reminder/sms": "{% block text %}Your cart: {{ link(cart.url) }}{% endblock %}",
}
PHONE, CHAT = "+15005550006", "5551234"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated store; on PostgreSQL (trust auth) its URL carries a password to hide."""
    async for url in database_url(request.param, tmp_path):
        if request.param == "postgresql":
            url = make_url(url).set(password="db-pass-SECRET2-y3k").render_as_string(False)
        yield url


def secret_env(tmp: Path, url: str, telegram: TelegramPeer, twilio: TwilioPeer) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    vapid, _ = generate_vapid_keys()
    return {
        "OMNI_TEMPORAL_API_KEY": f"temporal-key-SECRET1-{tag}",
        "DATABASE_URL": url,
        "OMNI_TRACKING_SECRET": f"tracking-SECRET3-{tag}-" + "x" * 32,
        "OMNI_TRACKING_PREVIOUS": f"tracking-old-SECRET3b-{tag}-" + "y" * 32,
        "OMNI_SMTP_USERNAME": "omni",
        "OMNI_SMTP_PASSWORD": f"smtp-SECRET4-{tag}",
        "OMNI_TELEGRAM_BOT_TOKEN": telegram.token,
        "OMNI_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "OMNI_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "OMNI_VAPID_PRIVATE_KEY": vapid,
        "OMNI_TELEGRAM_SECRET_TOKEN": f"hook-SECRET8-{tag}",
        "OMNI_CODEC_KEYS": new_key(f"k{tag}"),
        # Where things are (not secrets):
        "OMNI_SMTP_HOST": "localhost",
        "OMNI_EMAIL_FROM": "Shop <news@shop.example>",
        "OMNI_TWILIO_FROM": "+15005550001",
        "OMNI_SMS_PER_SECOND": "100",
        "OMNI_VAPID_SUBJECT": "mailto:ops@shop.example",
        "OMNI_TASK_QUEUE": f"secrets-{tag}",
        "OMNI_SCENARIOS_DIR": str(tmp / "scenarios"),
        "OMNI_TEMPLATES_DIR": str(tmp / "templates"),
        "OMNI_DATA_DIR": str(tmp / "data"),
        "OMNI_API_PORT": str(free_port()),
        "OMNI_CODEC_PORT": str(free_port()),
    }


def secrets_of(env: dict[str, str]) -> list[str]:
    """Each secret value as someone could find it in text (PEM keys line by line)."""
    names = [n for n in env if any(w in n for w in ("SECRET", "TOKEN", "KEY", "PASSWORD"))]
    values = [env[n] for n in names if n != "OMNI_VAPID_PRIVATE_KEY"]
    values += [line for line in env["OMNI_VAPID_PRIVATE_KEY"].splitlines() if "-----" not in line]
    values.append(env["OMNI_TELEGRAM_BOT_TOKEN"].partition(":")[2])
    values.append(env["OMNI_CODEC_KEYS"].partition(":")[2])
    password = make_url(env["DATABASE_URL"]).password
    return [v for v in values + ([str(password)] if password else []) if v]


async def test_no_secret_reaches_logs_history_or_doctor(
    dev_env: WorkflowEnvironment, tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, Omni's own loggers included
    for noisy in ("aiosqlite", "asyncio", "hpack"):
        caplog.set_level(logging.INFO, logger=noisy)
    caplog.set_level(logging.INFO, logger="httpx")  # one line per request, URL included
    write_scenario(tmp_path, LADDER, TEMPLATES)
    push, telegram, twilio = (
        PushService(),
        TelegramPeer(token="987654:bot-SECRET5-tkn"),
        TwilioPeer(),
    )
    twilio.auth_token = "twilio-SECRET6-" + "t" * 20
    env = secret_env(tmp_path, store_url, telegram, twilio)
    with SmtpPeer(tls_folder=tmp_path, users={"omni": env["OMNI_SMTP_PASSWORD"]}) as smtp:
        env["OMNI_SMTP_PORT"] = str(smtp.port)
        async with (
            serving(push.app()) as push_base,
            serving(telegram.app()) as tg_base,
            serving(twilio.app()) as twilio_base,
        ):
            push.base = push_base
            env["OMNI_TELEGRAM_API_URL"] = f"{tg_base}/bot"
            env["OMNI_TWILIO_API_URL"] = twilio_base
            env["OMNI_PUBLIC_URL"] = f"http://127.0.0.1:{env['OMNI_API_PORT']}"
            config = load_settings(env)
            assert config.email is not None
            # Settings with no variable: trust the peer's self-signed certificate...
            email = config.email.model_copy(update={"ca_file": str(smtp.cert)})
            # And the local push peer, on plain http on loopback, as a trusted push origin.
            assert config.push is not None
            push_settings = config.push.model_copy(update={"trusted_origins": (push_base,)})
            api = config.api.model_copy(update={"trusted_push_origins": (push_base,)})
            config = config.model_copy(update={"email": email, "push": push_settings, "api": api})
            doctoring = asyncio.create_task(asyncio.to_thread(run_doctor, env, tmp_path))
            history = await exercise(config, dev_env, push, env)
            doctor = await doctoring
    assert "FAIL  temporal" in doctor  # TLS to a plain server: an error message to check too
    secrets = secrets_of(env)
    seen = [(r.name, logging.Formatter().format(r)) for r in caplog.records]
    leaks = [
        (where, s[:12])
        for s in secrets
        for where, text in [*seen, ("history", history), ("omni doctor", doctor)]
        if s in text
    ]
    assert leaks == [], f"secrets found: {leaks}"
    # The Bot API was called (its URLs carry the token) and httpx logged it, masked.
    assert any(name == "httpx" and "/bot[redacted]/" in text for name, text in seen)
    assert telegram.violations == [] and twilio.violations == [] and push.violations == []
    assert len(smtp.received) == 1 and push.received and telegram.sent and twilio.messages


async def exercise(
    config: Settings, env: WorkflowEnvironment, push: PushService, raw: dict[str, str]
) -> str:
    """Run the ladder through every channel, call every webhook; the run's raw history."""
    engine = make_engine(config.store.url)
    key = await ApiKeys(sessions(engine)).create(
        "shop", scopes=["ingest", "read", "admin", "console"]
    )
    await engine.dispose()
    channels = build_channels(config)
    tasks = [
        asyncio.create_task(run_worker(config, env.client, channels)),
        asyncio.create_task(run_api(config, env.client)),
        asyncio.create_task(run_codec_server(config)),
    ]
    base = config.api.public_base_url
    auth = {"Authorization": f"Bearer {key}"}
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await until_up(http, "/health", tasks)
            assert (
                await http.get("/v1/contacts/x", headers={"Authorization": "Bearer no"})
            ).status_code == 401
            contact = {
                "email": "alex@example.com",
                "phone": PHONE,
                "telegram_chat_id": CHAT,
                "push_subscriptions": [push.subscribe(f"dev-{customer}")],
                "consents": {"email": True, "push": True, "telegram": True, "sms": True},
            }
            event = {
                "name": "cart_updated",
                "customer_id": customer,
                "event_id": f"{customer}-1",
                "data": {"cart": {"id": "c-9", "url": "https://shop.example/cart"}},
                "contact": contact,
            }
            assert (await http.post("/v1/events", json=event, headers=auth)).status_code == 202
            client = sealed(env.client, payload_codec(config))
            wid = f"cart4/customer-{customer}"
            state = await asyncio.wait_for(client.get_workflow_handle(wid).result(), 60)
            assert [m["status"] for m in state["messages"]] == ["sent"] * 4, state["messages"]
            await webhooks(http, config, raw)
            codec = f"http://127.0.0.1:{raw['OMNI_CODEC_PORT']}"
            decoded = await http.post(f"{codec}/decode", json={"payloads": []}, headers=auth)
            assert decoded.status_code == 200
            return await raw_history(client, wid)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for channel in channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()


async def webhooks(http: httpx.AsyncClient, config: Settings, raw: dict[str, str]) -> None:
    """Twilio (signed with the auth token), Telegram (secret token), a tracked click."""
    form = {"From": PHONE, "Body": "thanks!", "MessageSid": f"SM{uuid.uuid4().hex}"}
    url = f"{config.api.public_base_url}/webhooks/twilio/inbound"
    signature = RequestValidator(raw["OMNI_TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    answer = await http.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200
    update = {
        "update_id": int(uuid.uuid4().int % 10**9),
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": int(CHAT), "type": "private"},
            "text": "hi",
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": raw["OMNI_TELEGRAM_SECRET_TOKEN"]}
    assert (await http.post("/webhooks/telegram", json=update, headers=headers)).status_code == 200


async def until_up(http: httpx.AsyncClient, path: str, tasks: list[asyncio.Task[None]]) -> None:
    for _ in range(200):
        for task in tasks:
            if task.done():
                task.result()
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(path)).status_code == 200:
                return
        await asyncio.sleep(0.05)
    raise TimeoutError(path)


async def raw_history(client: object, wid: str) -> str:
    service = client.workflow_service  # type: ignore[attr-defined]
    request = GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id=wid)
    )
    page = await service.get_workflow_execution_history(request)
    data: bytes = page.history.SerializeToString()
    return data.decode("latin-1")


def run_doctor(env: dict[str, str], tmp: Path) -> str:
    """``omni doctor`` as an operator runs it, with every secret in its environment."""
    omni = str(Path(sys.executable).parent / "omni")
    done = subprocess.run(
        [omni, "doctor"],
        env={**os.environ, **env, "OMNI_TEMPORAL_ADDRESS": "127.0.0.1:1"},
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr

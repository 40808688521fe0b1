"""The worst moment for a send: the provider has the message and the worker is killed
(SIGKILL) before it hears the answer. A second worker takes the send over within the heartbeat
timeout. What happens then is written down per channel (README, "Each message once"):

- SMS: the retry finds the message in Twilio's Messages list and records it: once, always;
- email, web push and Telegram cannot be asked: marketing is not sent again (at most once,
  recorded as ``uncertain``); transactional is (at least once; email keeps its Message-ID,
  push its tag).

Other customers' messages are each delivered once, with their own data. Each case runs on
SQLite or PostgreSQL (when OMNI_TEST_POSTGRES_URL is set): marketing on one, transactional
on the other, so each store sees every channel; ``OMNI_FAULTS_FULL=1`` runs every case on
both (long profile)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from faults.processes import kill_all, omni_process, smtp_env, worker_env
from harness import write_scenario
from peers.push_service import PushService
from peers.smtp import Behaviour, SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.client import Client

from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import free_port, serving
from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

SCENARIO = """
scenario: notice
category: CATEGORY
trigger: {event: cart_updated, per: cart.id}
steps:
  - send: {CHANNEL: notice/hello}
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "notice/hello/email": "{% block subject %}Hello {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>Cart {{ cart.id }} for {{ contact.first_name }}</p>{% endblock %}",
    "notice/hello/sms": "{% block text %}Cart {{ cart.id }} for {{ contact.first_name }}"
    "{% endblock %}",
    "notice/hello/telegram": "{% block text %}Cart {{ cart.id }} for {{ contact.first_name }}"
    "{% endblock %}",
    "notice/hello/push": "{% block title %}Your cart{% endblock %}"
    "{% block body %}Cart {{ cart.id }} for {{ contact.first_name }}{% endblock %}",
}
#: channel, category -> (copies the killed customer gets, the run's record: status, reason)
CASES = {
    ("email", "marketing"): (1, ("failed", "uncertain")),
    ("email", "transactional"): (2, ("sent", "")),
    ("sms", "marketing"): (1, ("sent", "already sent")),  # found in the Messages list
    ("sms", "transactional"): (1, ("sent", "already sent")),
    ("telegram", "marketing"): (1, ("failed", "uncertain")),
    ("telegram", "transactional"): (2, ("sent", "")),
    ("push", "marketing"): (1, ("failed", "uncertain")),
    ("push", "transactional"): (2, ("sent", "")),  # same tag: the device shows one
}

FULL = os.environ.get("OMNI_FAULTS_FULL") == "1"
MATRIX = [
    (store, channel, category)
    for channel, category in CASES
    for store in ("sqlite", "postgresql")
    if FULL or (store == "sqlite") == (category == "marketing")
]


class Peers:
    """The provider of one channel; it calls ``on_accept`` as it takes each message."""

    smtp: SmtpPeer

    def __init__(self, channel: str, on_accept: Callable[[], None]) -> None:
        self.channel = channel
        self.on_accept = on_accept
        self.twilio = TwilioPeer(on_create=lambda _form: on_accept())
        self.telegram = TelegramPeer(on_send=lambda _params: on_accept())
        self.push_port = free_port()  # known before it serves: subscriptions name it
        self.push = PushService(
            base=f"http://127.0.0.1:{self.push_port}", on_accept=lambda _got: on_accept()
        )
        self.env: dict[str, str] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Peers]:
        async with AsyncExitStack() as stack:
            if self.channel == "email":
                self.smtp = SmtpPeer(behaviour=Behaviour(on_data=lambda _got: self.on_accept()))
                stack.enter_context(self.smtp)
                self.env = smtp_env(self.smtp.port)
            elif self.channel == "sms":
                base = await stack.enter_async_context(serving(self.twilio.app()))
                self.env = {
                    "OMNI_TWILIO_ACCOUNT_SID": self.twilio.account_sid,
                    "OMNI_TWILIO_AUTH_TOKEN": self.twilio.auth_token,
                    "OMNI_TWILIO_FROM": "+15005550006",
                    "OMNI_TWILIO_API_URL": base,
                }
            elif self.channel == "push":
                await stack.enter_async_context(serving(self.push.app(), port=self.push_port))
                self.env = {
                    "OMNI_VAPID_PRIVATE_KEY": generate_vapid_keys()[0],
                    "OMNI_VAPID_SUBJECT": "mailto:ops@shop.example",
                    "OMNI_PUSH_TRUSTED_ORIGINS": self.push.base,
                }
            else:
                base = await stack.enter_async_context(serving(self.telegram.app()))
                self.env = {
                    "OMNI_TELEGRAM_BOT_TOKEN": self.telegram.token,
                    "OMNI_TELEGRAM_API_URL": f"{base}/bot",
                }
            yield self
        assert self.twilio.violations == [] and self.telegram.violations == []
        assert self.push.violations == []

    def deliveries(self) -> list[tuple[str, str, str]]:
        """(recipient address, text, message id) of everything the provider accepted."""
        if self.channel == "email":
            return [
                (
                    r.recipients[0],
                    r.body(),
                    str(r.message["Message-ID"]),
                )
                for r in self.smtp.received
            ]
        if self.channel == "sms":
            return [(m["To"], m["Body"], m["sid"]) for m in self.twilio.messages]
        if self.channel == "push":
            return [
                (r["device"], r["payload"]["body"], r["payload"]["key"]) for r in self.push.received
            ]
        return [(str(p["chat_id"]), str(p["text"]), "") for p in self.telegram.sent]


def contact(peers: Peers, customer: str, i: int) -> dict[str, Any]:
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "email": lambda: {"email": f"{customer}@example.com"},
        "sms": lambda: {"phone": f"+1500555{i:04d}"},
        "telegram": lambda: {"telegram_chat_id": str(7000 + i)},
        "push": lambda: {"push_subscriptions": [peers.push.subscribe(f"d-{customer}")]},
    }
    address = makers[peers.channel]()
    return {
        "id": customer,
        "first_name": f"<i>{customer}</i>",
        **address,
        "consents": {peers.channel: True},
    }


def address_of(row: dict[str, Any]) -> str:
    if row.get("push_subscriptions"):
        return str(row["push_subscriptions"][0]["endpoint"].rsplit("/", 1)[1])
    return str(row.get("email") or row.get("phone") or row.get("telegram_chat_id"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("store_url", "channel", "category"), MATRIX, indirect=["store_url"])
async def test_worker_killed_after_the_provider_accepted(
    temporal: tuple[str, int], tmp_path: Path, store_url: str, channel: str, category: str
) -> None:
    copies, record = CASES[(channel, category)]
    address, _ = temporal
    scenario = write_scenario(
        tmp_path,
        SCENARIO.replace("CATEGORY", category).replace("CHANNEL", channel),
        TEMPLATES,
    )
    engine = make_engine(store_url)
    workers: list[Any] = []
    accepted: list[int] = []

    def kill_the_worker_once() -> None:
        accepted.append(1)
        if len(accepted) == 1:  # the first message is in; its sender dies before the answer
            os.kill(workers[0].pid, signal.SIGKILL)

    peers_ = Peers(channel, kill_the_worker_once)
    contacts = SqlContacts(sessions(engine), trusted_push_origins=(peers_.push.base,))
    tag = f"{channel[:2]}{category[:2]}"
    rows = [contact(peers_, f"w-{tag}-{i}", i) for i in range(3)]
    for row in rows:
        await contacts.upsert(row["id"], ContactFields.model_validate(row), source="test")

    queue = f"killed-{uuid.uuid4()}"
    client = await Client.connect(address)
    router = Router(
        client,
        {scenario.id: scenario},
        task_queue=queue,
        options=RunOptions(),
        index=SqlRunIndex(sessions(engine)),
    )
    try:
        async with peers_.running() as peers:
            env = worker_env(address, queue, store_url, tmp_path, **peers.env)
            workers.append(omni_process("run_worker", env, tmp_path / "worker.log"))
            wids = []
            for row in rows:  # the same cart id for every customer: runs stay apart anyway
                data = {"cart": {"id": "c-1"}}
                ev = EventSignal("cart_updated", f"{row['id']}-e", row["id"], data=data)
                wids += (await router.route(ev)).started_or_signalled
            assert len(wids) == len(rows)
            for _ in range(300):
                if workers[0].poll() is not None:
                    break
                await asyncio.sleep(0.1)
            assert workers[0].poll() == -signal.SIGKILL, "the first worker was not killed"
            workers.append(
                omni_process("run_worker", env, tmp_path / "worker.log")
            )  # takes over after the heartbeat timeout
            states = [
                await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=RunState).result(), 120
                )
                for w in wids
            ]
            kill_all(workers)  # no sender is left: what the peers hold now is final
            got = peers.deliveries()
    finally:
        kill_all(workers)
        await engine.dispose()
    by_address = {address_of(r): r["id"] for r in rows}
    per_customer = Counter(by_address[to] for to, _, _ in got)
    killed = by_address[got[0][0]]
    assert per_customer[killed] == copies, got
    records = {s.customer_id: s.messages[0] for s in states}
    assert (records[killed].status, records[killed].reason or "") == record
    for row in rows:  # sends in flight on the dead worker follow the same rules
        c, entry = row["id"], records[row["id"]]
        if entry.status == "sent":
            assert 1 <= per_customer[c] <= copies, (c, got)
        else:  # at most once: uncertain, never repeated
            assert (entry.status, entry.reason, category) == ("failed", "uncertain", "marketing")
            assert per_customer[c] <= 1, (c, got)
    for to, text, _ in got:  # each message carries its own customer's name
        name = by_address[to]
        assert not any(o["id"] in text for o in rows if o["id"] != name)
        plain = channel in ("sms", "push")
        shown = f"<i>{name}</i>" if plain else f"&lt;i&gt;{name}&lt;/i&gt;"
        assert shown in text, text  # plain text as typed; markup escaped where it would render
    if channel in ("email", "push"):  # a repeat carries the same Message-ID / tag
        assert len({mid for to, _, mid in got if by_address[to] == killed}) == 1

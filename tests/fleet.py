"""A seeded model of real traffic: many customers, shared keys, interleaved events.

``script(seed)`` makes a list of operations; ``Fleet`` plays it through the real HTTP API
(``POST /v1/events``, in process), router, workflow, send activity and SQLite store on the
time-skipping server, with recording channels as the providers, and records what each customer was
sent.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from accepting import AcceptingChannel
from harness import PUSH_KEYS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from tests_store_url import migrated_sqlite

from channels.recording import RecordingChannel
from orchestrator.api.app import create_app
from orchestrator.api.keys import ALL_SCOPES
from orchestrator.api.services import Services, build_services
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.policies import FrequencyPolicy
from orchestrator.engine.router import Routed
from orchestrator.engine.runtime import build_worker
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.tables import SendRow

#: Ids that a lossy id scheme would merge, hostile ids, personal ids, plain ids.
CUSTOMER_IDS = [
    "a/x",
    "a_x",
    "a x",
    "josé-1",
    "josë-1",
    "李-1",
    "王-1",
    "jane@example.com",
    "+15550100999",
    "../../etc",
    "<script>",
    "c%0d%0aX-Evil: 1",  # CR/LF itself is refused with 422 (tests/api)
    "~2F",
    "42",
    "43",
    "cust-1001",
    "ÅSA",
    "x" * 120,
    "emoji-😀",
    "0",
]
CARTS = ["c-1", "c-2", "c-3", "c/4", "c 5"]
WEBINARS = ["w-1", "w-2", "w-3"]
PRODUCTS = ["p-1", "p-2", "p-3", "p-4"]
TIMEZONES = ["UTC", "America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin"]
MINUTE = 60


def marker(i: int) -> str:
    """A token only customer ``i``'s data carries (never a substring of another's)."""
    return f"q{i:02d}x"


def contact(i: int) -> dict[str, Any]:
    return {
        "id": CUSTOMER_IDS[i],
        "first_name": f"<b>Zoë {marker(i)}</b> & Co",
        "email": f"m{i}@example.com",
        "phone": f"+1415555{i:04d}",
        "telegram_chat_id": str(900000 + i),
        "push_subscriptions": [{"endpoint": f"https://push.example.com/{i}", "keys": PUSH_KEYS}],
        "timezone": TIMEZONES[i % len(TIMEZONES)],
        "locale": "ru" if i % 5 == 0 else "en",
        "consents": {c: True for c in CHANNELS},
    }


def script(seed: int, customers: int = 20, steps: int = 90) -> list[dict[str, Any]]:
    """The operations of one example; plain JSON so a failure can print and replay it."""
    rnd = random.Random(seed)
    ops: list[dict[str, Any]] = []
    for count in range(1, steps + 1):
        i = rnd.randrange(customers)
        m = marker(i)
        eid = f"e{seed}-{count}"
        kind = rnd.choices(
            [
                "cart",
                "order",
                "view",
                "webinar",
                "signup",
                "click",
                "unsub",
                "replay",
                "wait",
                "restart",
                "other_order",
            ],
            weights=[14, 6, 8, 5, 4, 8, 2, 5, 14, 1, 3],
        )[0]
        if kind == "cart":
            cart = rnd.choice(CARTS)
            data = {
                "cart": {
                    "id": cart,
                    "total": rnd.choice([0, 19.5, 42]),
                    "currency": "EUR",
                    "url": f"https://shop.test/cart/{m}",
                    "items": [{"name": f"Shirt {m}", "qty": 1, "price": 19.5}],
                }
            }
            ops.append({"op": "event", "name": "cart_updated", "c": i, "id": eid, "data": data})
        elif kind in ("order", "other_order"):
            cart = rnd.choice(CARTS)
            data = {
                "order": {
                    "id": f"o-{count}",
                    "cart_id": cart,
                    "product_ids": [rnd.choice(PRODUCTS)],
                    "total": 19.5,
                }
            }
            ops.append({"op": "event", "name": "order_placed", "c": i, "id": eid, "data": data})
        elif kind == "view":
            p = rnd.choice(PRODUCTS)
            data = {
                "product": {
                    "id": p,
                    "name": f"Item {m}",
                    "price": 30,
                    "url": f"https://shop.test/p/{m}",
                }
            }
            ops.append({"op": "event", "name": "product_viewed", "c": i, "id": eid, "data": data})
        elif kind == "webinar":
            w = rnd.choice(WEBINARS)
            ahead = rnd.choice([2, 20, 30, 50]) * 3600
            data = {"webinar": {"id": w, "title": f"Live {m}", "url": f"https://web.test/{m}"}}
            ops.append({"op": "webinar", "c": i, "id": eid, "data": data, "ahead_s": ahead})
        elif kind == "signup":
            ops.append(
                {"op": "event", "name": "signed_up", "c": i, "id": eid, "data": {"source": m}}
            )
        elif kind == "click":
            ops.append({"op": "click", "c": i, "id": eid, "pick": rnd.random()})
        elif kind == "unsub":
            ops.append({"op": "unsub", "c": i, "channel": rnd.choice(CHANNELS)})
        elif kind == "replay":
            ops.append({"op": "replay", "pick": rnd.random()})
        elif kind == "wait":
            ops.append({"op": "wait", "s": rnd.choice([5, 30, 90, 240, 600]) * MINUTE})
        else:
            ops.append({"op": "restart"})
    # Let every run finish, a few hours at a time (one long skip can outlast the RPC timeout).
    ops.extend({"op": "wait", "s": 6 * 3600} for _ in range(4 * 14))
    return ops


@dataclass
class Sent:
    customer: int
    scenario: str
    channel: str
    key: str
    at: datetime
    text: str
    address: Any


@dataclass
class Fleet:
    env: WorkflowEnvironment
    scenarios: dict[str, Scenario]
    folder: Path
    engine: AsyncEngine | None = None
    worker: Worker | None = None
    providers: dict[str, RecordingChannel] = field(
        default_factory=lambda: {c: AcceptingChannel(c) for c in CHANNELS}
    )
    queue: str = field(default_factory=lambda: f"fleet-{uuid.uuid4()}")
    #: What was done, in virtual time: (at, op, customer, detail).
    log: list[tuple[datetime, str, int, dict[str, Any]]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    #: The API's answer to each event posted: (body, result).
    answers: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    wids: set[str] = field(default_factory=set)

    async def __aenter__(self) -> Fleet:
        self.engine = make_engine(await migrated_sqlite(self.folder))
        self.svc: Services = build_services(
            self.env.client,
            sessions(self.engine),
            self.scenarios,
            task_queue=self.queue,
            options=RunOptions(index=False),
        )
        self.contacts, self.send_log = self.svc.contacts, self.svc.send_log
        key = await self.svc.keys.create("model", scopes=ALL_SCOPES)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.svc)),
            base_url="http://omni.test",
            headers={"Authorization": f"Bearer {key}"},
        )
        for i in range(len(CUSTOMER_IDS)):
            fields = ContactFields.model_validate(contact(i))
            await self.contacts.upsert(CUSTOMER_IDS[i], fields, source="model")
        await self.start_worker()
        return self

    async def start_worker(self) -> None:
        activities = Activities(
            directory=self.contacts,
            send_log=self.send_log,
            events=self.svc.events,
            channels=dict(self.providers),
            policy=FrequencyPolicy(),
        )
        # No workflow cache: every task replays the history (a restart is a real cold start),
        # and no task waits on the sticky queue of a worker that is gone.
        self.worker = build_worker(
            self.env.client,
            task_queue=self.queue,
            activities=activities,
            max_cached_workflows=0,
            fail_fast=True,
        )
        await self.worker.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        # Runs left waiting (a failed example) would hold the shared time-skipping server's
        # clock once their worker is gone, and stall every later test: end them first.
        for wid in self.wids:
            handle = self.env.client.get_workflow_handle(wid)
            with contextlib.suppress(RPCError):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("model example over")
        if self.worker is not None:
            await self.worker.__aexit__(None, None, None)
        if self.engine is not None:
            await self.engine.dispose()

    async def skip(self, seconds: float) -> None:
        """Advance virtual time. Every timer due fires on the way, and the runs' sends happen
        in real time meanwhile, so allow the server minutes, not its default RPC timeout."""
        req = SleepRequest()
        req.duration.FromTimedelta(timedelta(seconds=seconds))
        await self.env.client.test_service.unlock_time_skipping_with_sleep(
            req, timeout=timedelta(minutes=5)
        )

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def play(self, ops: list[dict[str, Any]]) -> None:
        assert self.worker is not None
        for op in ops:
            now = await self.now()
            kind = op["op"]
            if kind == "wait":
                await self.skip(op["s"])
            elif kind == "restart":
                await self.worker.__aexit__(None, None, None)
                await self.start_worker()
            elif kind == "unsub":
                await self.contacts.suppress(CUSTOMER_IDS[op["c"]], op["channel"], "unsubscribed")
                self.log.append((now, "unsub", op["c"], {"channel": op["channel"]}))
            elif kind == "replay":
                if self.bodies:
                    await self.post(self.bodies[int(op["pick"] * len(self.bodies))], replay=True)
            elif kind == "click":
                await self.click(op, now)
            else:
                data = op["data"]
                name = op.get("name", "webinar_registered")
                if kind == "webinar":
                    starts = now + timedelta(seconds=op["ahead_s"])
                    data = {"webinar": {**data["webinar"], "starts_at": starts.isoformat()}}
                body = {
                    "name": name,
                    "event_id": op["id"],
                    "customer_id": CUSTOMER_IDS[op["c"]],
                    "occurred_at": now.isoformat(),
                    "data": data,
                }
                self.log.append((now, name, op["c"], data))
                await self.post(body)

    async def post(self, body: dict[str, Any], *, replay: bool = False) -> None:
        answer = await self.http.post("/v1/events", json=body)
        assert answer.status_code == 202, answer.text
        (result,) = answer.json()["results"]
        self.answers.append(({**body, "replay": replay}, result))
        self.wids.update(result["runs"])
        if not replay:
            self.bodies.append(body)

    async def click(self, op: dict[str, Any], now: datetime) -> None:
        """The customer clicks a link in a message they received (tracking signals its run)."""
        mine = [o for o in self.delivered() if o.customer_id == CUSTOMER_IDS[op["c"]]]
        if not mine:
            return
        out = mine[int(op["pick"] * len(mine))]
        wid = run_of(out.key)
        ev = EventSignal("message_clicked", op["id"], out.customer_id, now.isoformat(), {})
        self.log.append((now, "click", op["c"], {"run": wid}))
        with contextlib.suppress(RPCError):  # the run may have ended
            await self.svc.router.signal(wid, ev, Routed())

    def delivered(self) -> list[Any]:
        return [o for c in CHANNELS for o in self.providers[c].sent]

    async def sent(self) -> list[Sent]:
        """Every message the providers received, with the time the send log gives it."""
        assert self.engine is not None
        async with sessions(self.engine)() as s:
            rows = {r.key: r for r in await s.scalars(select(SendRow))}
        index = {cid: i for i, cid in enumerate(CUSTOMER_IDS)}
        out = []
        for o in self.delivered():
            row = rows[o.key]
            assert row.sent_at is not None, o.key
            text = json.dumps(asdict(o.message), ensure_ascii=False)
            out.append(
                Sent(
                    index[o.customer_id],
                    o.scenario,
                    o.channel,
                    o.key,
                    aware(row.sent_at),
                    text,
                    o.address,
                )
            )
        return out

    async def states(self) -> dict[str, RunState]:
        """The state of the latest run of every workflow id the API reported; a failed run is
        a bug, reported as such."""
        found = {}
        for wid in sorted(self.wids):
            handle = self.env.client.get_workflow_handle(wid)
            status = (await handle.describe()).status
            assert status != WorkflowExecutionStatus.FAILED, f"{wid} failed"
            found[wid] = await handle.query("state", result_type=RunState)
        return found


_RUN = re.compile(r"^(?P<wid>.*)/[0-9a-f]{16}/g\d+/[^/]+/[a-z]+$")


def run_of(key: str) -> str:
    match = _RUN.match(key)
    assert match is not None, key
    return match.group("wid")


def aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)

"""Model-based race test on the Temporal dev server: customer events land at random moments —
inside sends, start delays and reaction waits — while four real peers (SMTP, Web Push, the Bot
API, Twilio) each answer after a random 0 to 2 s. After every example:

- no run ends FAILED, terminated or stuck;
- each run's outcome is what the first ending event it saw means (goal → converted, exit →
  exited, cancel → cancelled; else a click → reacted, nothing → exhausted);
- no message reached a provider after its run stopped it: every message a peer holds is one
  its run recorded as sent, and a send recorded ``stopped_by_…`` reached no peer;
- every message reached its own customer only (address and marker agree);
- the API (``GET /v1/runs``) and Temporal (describe, OmniOutcome) agree on status and outcome.

Customers share cart ids, so a goal of one must not end another's run. CI runs two seeds;
``OMNI_RACE_EXAMPLES=N`` runs more, ``OMNI_RACE_SEED=S`` replays one.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import random
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_stack import csrf_of, log_in, run_row
from e2e_stack import Running, running_stack
from peers.providers import four_providers
from peers.push_service import PushService
from peers.smtp import SmtpPeer
from peers.telegram_api import TelegramPeer
from peers.twilio_api import TwilioPeer
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from channels.email_message import message_id
from orchestrator.engine import search

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("OMNI_RACE_EXAMPLES", "2"))
SEEDS = (
    [int(os.environ["OMNI_RACE_SEED"])]
    if "OMNI_RACE_SEED" in os.environ
    else list(range(1, EXAMPLES + 1))
)
CHANNELS = ("email", "push", "telegram", "sms")

SCENARIO = """
scenario: race_cart
trigger: {event: cart_updated, per: cart.id, spread: 2s}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
exit: {event: account_closed}
steps:
  - escalate:
      - email: race/reminder
        wait: 2s
      - push: race/reminder
        wait: 2s
      - telegram: race/reminder
        wait: 2s
      - sms: race/reminder
sample:
  cart_updated: {cart: {id: c-1}}
  order_placed: {order: {cart_id: c-1}}
  account_closed: {}
"""
TEMPLATES = {
    "race/reminder/email": "{% block subject %}Cart [{{ trigger.cart.id }}]{% endblock %}"
    "{% block html %}<p>Hi {{ contact.first_name }}, cart [{{ trigger.cart.id }}]</p>"
    "{% endblock %}",
    "race/reminder/push": "{% block title %}Cart [{{ trigger.cart.id }}]{% endblock %}"
    "{% block body %}Hi {{ contact.first_name }}{% endblock %}",
    "race/reminder/telegram": "{% block text %}Hi {{ contact.first_name }}, "
    "cart [{{ trigger.cart.id }}]{% endblock %}",
    "race/reminder/sms": "{% block text %}Hi {{ contact.first_name }}, "
    "cart [{{ trigger.cart.id }}]{% endblock %}",
}
CUSTOMERS = 5
CONSOLE_PASSWORD = "race-console-password"
#: Each customer's two carts; "shared-a" and "shared-b" belong to two customers each.
CARTS = {
    0: ["shared-a", "c0-own"],
    1: ["shared-a", "shared-b"],
    2: ["shared-b", "c2-own"],
    3: ["c3-x", "c3-y"],
    4: ["c4-x", "shared-a"],
}
ENDINGS = {"order_placed": "converted", "account_closed": "exited", "cancel": "cancelled"}


def marker(i: int) -> str:
    return f"q{i:02d}x"


def customer_id(i: int, seed: int) -> str:
    return f"race-{seed}-{i}-<b>&\u00e9"


def contact(i: int, push: dict[str, Any]) -> dict[str, Any]:
    return {
        "first_name": f'<b>Zoë {marker(i)}</b> & "Co" \u202e',
        "email": f"m{i}@example.com",
        "phone": f"+1415555{i:04d}",
        "telegram_chat_id": str(700000 + i),
        "push_subscriptions": [push],
        "consents": {c: True for c in CHANNELS},
    }


def script(seed: int) -> list[dict[str, Any]]:
    """When each event is posted (seconds after the start): triggers, then for each run or
    customer an ending, a click, a replayed trigger or a second trigger, at random moments."""
    rnd = random.Random(seed)
    ops: list[dict[str, Any]] = []
    for i in range(CUSTOMERS):
        for cart in CARTS[i]:
            ops.append({"at": rnd.uniform(0, 1.5), "op": "trigger", "i": i, "cart": cart})
            fate = rnd.choice(["order", "order", "cancel", "none", "none"])
            if fate != "none":
                ops.append({"at": rnd.uniform(0.1, 9), "op": fate, "i": i, "cart": cart})
            if rnd.random() < 0.4:
                ops.append({"at": rnd.uniform(0.1, 6), "op": "replay", "i": i, "cart": cart})
            if rnd.random() < 0.3:
                ops.append({"at": rnd.uniform(0.1, 6), "op": "again", "i": i, "cart": cart})
        if rnd.random() < 0.35:
            ops.append({"at": rnd.uniform(0.1, 9), "op": "exit", "i": i})
        if rnd.random() < 0.35:
            ops.append({"at": rnd.uniform(0.1, 9), "op": "click", "i": i})
    return sorted(ops, key=lambda op: float(op["at"]))


@dataclass
class Peers:
    smtp: SmtpPeer
    push: PushService
    telegram: TelegramPeer
    twilio: TwilioPeer


@dataclass
class World:
    run: Running
    peers: Peers
    seed: int
    subs: dict[int, dict[str, Any]]

    def wid(self, i: int, cart: str) -> str:
        from orchestrator.engine.ids import run_key, workflow_id

        scenario = next(iter(self.run.svc.router.scenarios.values()))
        cid = customer_id(i, self.seed)
        return workflow_id(scenario.id, run_key(scenario, cid, {"cart": {"id": cart}}))

    async def post(self, body: dict[str, Any]) -> None:
        await self.run.post_event(body)

    async def apply(self, op: dict[str, Any]) -> None:
        i = op["i"]
        cid = customer_id(i, self.seed)
        kind = op["op"]
        if kind in ("trigger", "replay"):
            await self.post(
                {
                    "name": "cart_updated",
                    "customer_id": cid,
                    "event_id": f"t-{self.seed}-{i}-{op['cart']}",
                    "data": {"cart": {"id": op["cart"]}},
                    "contact": contact(i, self.subs[i]),
                }
            )
        elif kind == "again":
            await self.post(
                {
                    "name": "cart_updated",
                    "customer_id": cid,
                    "event_id": f"a-{uuid.uuid4().hex}",
                    "data": {"cart": {"id": op["cart"]}},
                }
            )
        elif kind == "order":
            await self.post(
                {
                    "name": "order_placed",
                    "customer_id": cid,
                    "event_id": f"o-{op['cart']}-{uuid.uuid4().hex}",
                    "data": {"order": {"cart_id": op["cart"]}},
                }
            )
        elif kind in ("exit", "click"):
            name = "account_closed" if kind == "exit" else "message_clicked"
            await self.post(
                {"name": name, "customer_id": cid, "event_id": f"{kind}-{uuid.uuid4().hex}"}
            )
        elif kind == "cancel":
            wid = self.wid(i, op["cart"])
            answer = await self.run.http.post(
                f"/v1/runs/{wid}/cancel",
                json={"reason": "support"},
                headers={"Authorization": f"Bearer {self.run.key}"},
            )
            # 404: not started yet (its trigger is still on its way); 409: already ended.
            assert answer.status_code in (200, 404, 409), answer.text


async def slow(rnd: random.Random) -> None:
    await asyncio.sleep(rnd.uniform(0, 2))


@pytest.fixture
async def world(
    dev_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    seed = int(request.param)
    rnd = random.Random(seed * 7919)

    async def hold(_: Any) -> None:
        await slow(rnd)

    async with four_providers(hold, smtp_timeout=10) as p:
        subs = {i: p.push.subscribe(f"dev-{seed}-{i}") for i in range(CUSTOMERS)}
        async with running_stack(
            dev_env,
            tmp_path,
            SCENARIO,
            TEMPLATES,
            p.channels,
            trusted_push=(p.push_base,),
            console_password=CONSOLE_PASSWORD,
        ) as run:
            yield World(run, Peers(p.smtp, p.push, p.telegram, p.twilio), seed, subs)
    assert p.violations() == []


async def console_profile(world: World, customer: str) -> str:
    """The customer's page in the console, found by searching for their id."""
    async with httpx.AsyncClient(base_url=str(world.run.http.base_url)) as client:
        assert (await log_in(client, CONSOLE_PASSWORD)).status_code == 303
        page = await client.get("/console/customers")
        found = await client.post(
            "/console/customers",
            data={"q": customer, "csrf": csrf_of(page.text)},
            headers={"Origin": str(client.base_url).rstrip("/")},
        )
        assert found.status_code in (200, 303), found.text[:300]
        if found.status_code == 303:
            return (await client.get(found.headers["location"])).text
        matches = re.search(r'id="matches">(.*?)</ul>', found.text, re.S)
        assert matches is not None, found.text[:500]
        link = re.search(r'<a class="customer" href="([^"]+)"', matches.group(1))
        assert link is not None, matches.group(1)
        return (await client.get(html.unescape(link.group(1)))).text


def received(peers: Peers) -> list[tuple[int, str, str]]:
    """(customer index by address, channel, the text the receiver sees) of every message a
    peer holds: the raw SMTP DATA, the Web Push payload, the Bot API call, the Twilio form."""
    out: list[tuple[int, str, str]] = []
    for got in peers.smtp.received:
        msg = got.message
        body = msg.get_body(("html",))
        assert body is not None
        text = f"{msg['Subject']} {body.get_content()}"
        (to,) = got.recipients
        out.append((int(re.fullmatch(r"m(\d+)@example\.com", to)[1]), "email", text))  # type: ignore[index]
    for p in peers.push.received:
        i = int(p["device"].rsplit("-", 1)[1])
        out.append((i, "push", json.dumps(p["payload"], ensure_ascii=False)))
    for t in peers.telegram.sent:
        out.append((int(t["chat_id"]) - 700000, "telegram", str(t["text"])))
    for m in peers.twilio.messages:
        out.append((int(m["To"][-4:]), "sms", m["Body"]))
    return out


def expected_outcome(timeline: list[dict[str, Any]], cart: str) -> str:
    """What the first ending event the run saw means (events after it were never seen)."""
    for entry in timeline:
        if entry.get("kind") == "skip" and str(entry.get("reason", "")).startswith("cancelled:"):
            return "cancelled"
        if entry.get("kind") != "event" or entry.get("reason"):
            continue
        if entry["event"] == "account_closed":
            return "exited"
        if entry["event"] == "order_placed" and entry["event_id"].startswith(f"o-{cart}-"):
            return "converted"  # its own customer's order of another cart is no goal
    clicks = [e for e in timeline if e.get("kind") == "event" and e["event"] == "message_clicked"]
    return "reacted" if clicks else "exhausted"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("world", SEEDS, indirect=True, ids=[f"seed-{s}" for s in SEEDS])
async def test_events_at_random_moments_never_fail_a_run(world: World) -> None:
    ops = script(world.seed)
    start = asyncio.get_running_loop().time()

    async def at(op: dict[str, Any]) -> None:
        delay = start + float(op["at"]) - asyncio.get_running_loop().time()
        await asyncio.sleep(max(delay, 0))
        await world.apply(op)

    triggers = [op for op in ops if op["op"] == "trigger"]
    await asyncio.gather(*(at(op) for op in triggers))
    await asyncio.gather(*(at(op) for op in ops if op["op"] != "trigger"))
    runs = {(op["i"], op["cart"]): world.wid(op["i"], op["cart"]) for op in triggers}
    client = world.run.svc.client
    problems: list[str] = []
    # Every execution of each run id: a run that ended early is followed by a new one when
    # a later trigger arrives (a distinct run, with send keys of its own).
    executions: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for (i, cart), wid in runs.items():
        found = [w async for w in client.list_workflows(f"WorkflowId = '{wid}'")]
        executions[(i, cart)] = []
        for w in sorted(found, key=lambda w: w.start_time):
            handle = client.get_workflow_handle(wid, run_id=w.run_id)
            try:
                result = await asyncio.wait_for(handle.result(), timeout=60)
            except Exception as exc:  # a failed or stuck run: the defect this test is for
                desc = await handle.describe()
                status = desc.status.name if desc.status else "?"
                problems.append(f"{wid} ({w.run_id}): {status} ({exc!r})")
                continue
            executions[(i, cart)].append({**result, "run_id": w.run_id})
        if not found:
            problems.append(f"{wid}: never started")
    assert not problems, f"seed {world.seed}: " + "; ".join(problems)

    peers_got = received(world.peers)
    for i, channel, text in peers_got:
        # Every message reached its own customer: address and data agree, no one else's.
        assert marker(i) in text, (channel, text)
        others = [marker(j) for j in range(CUSTOMERS) if j != i]
        assert not any(m in text for m in others), (channel, text)
        assert "<b>" not in text or channel in ("push", "sms"), (channel, text)
    email_ids = {got.message["Message-ID"] for got in world.peers.smtp.received}
    per_run = Counter(
        (i, channel, cart)
        for i, channel, text in peers_got
        for cart in CARTS[i]
        if f"[{cart}]" in text
    )
    for (i, cart), results in executions.items():
        wid = runs[(i, cart)]
        sent: Counter[str] = Counter()
        for result in results:
            timeline = result["timeline"]
            outcome = result["outcome"]
            assert outcome == expected_outcome(timeline, cart), (wid, outcome, timeline)
            sent.update(m["channel"] for m in result["messages"] if m.get("status") == "sent")
            # A stopped email never reached SMTP (its Message-ID comes from its send key;
            # for the other channels the counts below hold it).
            for m in result["messages"]:
                if str(m.get("reason", "")).startswith("stopped") and m["channel"] == "email":
                    assert message_id(m["key"], "shop.example") not in email_ids, (wid, m)
            # Temporal and the API agree.
            handle = client.get_workflow_handle(wid, run_id=result["run_id"])
            desc = await handle.describe()
            assert desc.status == WorkflowExecutionStatus.COMPLETED, wid
            assert desc.typed_search_attributes.get(search.OUTCOME) == outcome, wid
        for channel in CHANNELS:
            # What the peers hold is what the runs recorded as sent: nothing after a stop.
            assert per_run[(i, channel, cart)] == sent[channel], (
                f"{wid} {channel}: {[r['messages'] for r in results]}"
            )
        answer = await world.run.http.get(
            f"/v1/runs/{wid}", headers={"Authorization": f"Bearer {world.run.key}"}
        )
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert (shown["status"], shown["outcome"]) == ("ended", results[-1]["outcome"]), shown
        # The console's customer page shows the same ending.
        page = await console_profile(world, customer_id(i, world.seed))
        row = run_row(page, wid)
        assert results[-1]["outcome"].replace("_", " ") in row, (wid, row)
        assert "running" not in row and "failed" not in row, (wid, row)
    outcomes = Counter(r["outcome"] for rs in executions.values() for r in rs)
    print(f"seed {world.seed}: {dict(outcomes)}; {len(peers_got)} messages at the peers")

"""Run identity on the time-skipping server, through the real router: one run per customer and
key, events only into their own customer's runs, send keys unique per run, honest outcomes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from accepting import AcceptingChannel
from harness import FULL_CONTACT
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from channels.outbox import OutboxChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import EventSignal, RunOptions, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.runs import SqlRunIndex

ROOT = Path(__file__).resolve().parents[2]
H = 3600


def shipped(name: str) -> Scenario:
    return load_or_raise([ROOT / "scenarios"], ROOT / "templates")[name]


def person(cid: str, name: str, **changes: Any) -> Contact:
    fields = {**FULL_CONTACT, "id": cid, "first_name": name, "email": f"{cid}@example.com"}
    fields["telegram_chat_id"] = f"7{sum(map(ord, cid))}"
    return Contact.model_validate({**fields, **changes})


@dataclass
class Shop:
    env: WorkflowEnvironment
    router: Router
    outbox: dict[str, OutboxChannel]
    send_log: InMemorySendLog
    wids: set[str] = field(default_factory=set)

    async def event(
        self, name: str, customer: str, data: dict[str, Any], eid: str = ""
    ) -> list[str]:
        ev = EventSignal(name, eid or str(uuid.uuid4()), customer, data=data)
        routed = await self.router.route(ev)
        runs = routed.started_or_signalled + routed.signalled
        self.wids.update(routed.started_or_signalled)
        return runs

    async def state(self, wid: str) -> RunState:
        handle = self.env.client.get_workflow_handle(wid, result_type=RunState)
        state: RunState = await handle.query("state", result_type=RunState)
        return state

    def received(self, address: str) -> list[str]:
        return [
            f"{o.template} {o.message.subject}{o.message.text}{o.message.html}{o.message.buttons}"
            for c in CHANNELS
            for o in self.outbox[c].sent
            if o.address == address
        ]


async def morning(env: WorkflowEnvironment) -> None:
    """Skip to the next 10:00 UTC: outside every shipped scenario's quiet hours."""
    now = await env.get_current_time()
    moment = now.replace(hour=10, minute=0, second=0, microsecond=0)
    await env.sleep(((moment if moment > now else moment + timedelta(days=1)) - now).seconds)


@asynccontextmanager
async def shop(
    env: WorkflowEnvironment,
    tmp_path: Path,
    scenarios: list[Scenario],
    contacts: list[Contact],
    options: RunOptions | None = None,
) -> AsyncIterator[Shop]:
    queue = f"identity-{uuid.uuid4()}"
    outbox = {c: AcceptingChannel(c) for c in CHANNELS}
    send_log = InMemorySendLog()
    activities = Activities(
        directory=InMemoryDirectory(contacts), send_log=send_log, channels=dict(outbox)
    )
    engine = make_engine(await migrated_sqlite(tmp_path))
    router = Router(
        env.client,
        {s.id: s for s in scenarios},
        task_queue=queue,
        options=options or RunOptions(index=False),
        index=SqlRunIndex(sessions(engine)),
    )
    s = Shop(env, router, outbox, send_log)
    try:
        async with build_worker(
            env.client, task_queue=queue, activities=activities, fail_fast=True
        ):
            try:
                yield s
            finally:
                # Runs left waiting would hold the shared time-skipping server's clock once
                # their worker is gone: end them while it is still here.
                for wid in s.wids:
                    handle = env.client.get_workflow_handle(wid)
                    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("test over")
    finally:
        await engine.dispose()


async def test_two_registrants_of_one_webinar_each_get_their_own_link(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    anna, ben = person("1", "Anna"), person("2", "Ben")
    async with shop(time_env, tmp_path, [shipped("webinar_reminder")], [anna, ben]) as s:
        starts = (await time_env.get_current_time()) + timedelta(hours=30)

        def webinar(secret: str) -> dict[str, Any]:
            return {"webinar": {"id": "w-12", "title": "Live", "starts_at": starts.isoformat(),
                                "url": f"https://web.test/join/{secret}"}}  # fmt: skip

        first = await s.event("webinar_registered", "1", webinar("anna-secret"))
        second = await s.event("webinar_registered", "2", webinar("ben-secret"))
        assert first == ["webinar_reminder/customer-1/webinar-w-12"]
        assert second == ["webinar_reminder/customer-2/webinar-w-12"]
        await time_env.sleep(31 * H)
        for wid in first + second:
            await time_env.client.get_workflow_handle(wid, result_type=RunState).result()
    anna_got, ben_got = s.received("1@example.com"), s.received("2@example.com")
    assert anna_got and ben_got
    assert all("anna-secret" in m and "ben-secret" not in m for m in anna_got)
    assert all("ben-secret" in m and "anna-secret" not in m for m in ben_got)
    telegram = [o for o in s.outbox["telegram"].sent]
    assert {o.customer_id for o in telegram} == {"1", "2"}
    for o in telegram:
        mine = "anna-secret" if o.customer_id == "1" else "ben-secret"
        assert all(mine in url for _, url in o.message.buttons)


async def test_a_later_run_of_the_same_key_sends_again(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The same customer views the same product again after the first run ended: the new run's
    thank-you is sent, not skipped as "already sent" by the first run."""
    product = {"product": {"id": "p-5", "name": "Shirt", "price": 30, "url": "https://s.test/p"}}
    order = {"order": {"id": "o-1", "product_ids": ["p-5"], "total": 30}}
    async with shop(time_env, tmp_path, [shipped("browse_followup")], [person("42", "Ann")]) as s:
        (wid,) = await s.event("product_viewed", "42", product)
        await s.event("order_placed", "42", order)
        first = await time_env.client.get_workflow_handle(wid, result_type=RunState).result()
        assert (await s.event("product_viewed", "42", product)) == [wid]
        await s.event("order_placed", "42", {"order": {**order["order"], "id": "o-2"}})
        second = await time_env.client.get_workflow_handle(wid, result_type=RunState).result()
    assert first.outcome == second.outcome == "stopped: bought"
    thanks = [o for o in s.outbox["email"].sent if o.template == "browse/thanks"]
    assert len(thanks) == 2
    assert (
        thanks[0].key != thanks[1].key
        and thanks[0].key.split("/g0/")[1] == thanks[1].key.split("/g0/")[1]
    )
    assert [m.status for m in second.messages] == ["sent"]


async def test_send_keys_stay_the_same_across_continue_as_new(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    cart = shipped("abandoned_cart")
    options = RunOptions(index=False, max_restarts=1)  # every restart continues as new
    async with shop(time_env, tmp_path, [cart], [person("7", "Cy")], options) as s:
        await morning(time_env)
        data = {"cart": {"id": "c-1", "total": 10, "currency": "EUR", "url": "https://s.test/c",
                         "items": []}}  # fmt: skip
        (wid,) = await s.event("cart_updated", "7", data)
        await time_env.sleep(2 * H)
        await s.event("cart_updated", "7", data)  # restart -> continue-as-new, generation 1
        await time_env.sleep(20 * H)
        # Read the outcome by query: waiting on the result of a chain that just continued as
        # new can end early on the time-skipping server ("No completion event found").
        for _ in range(24):
            state = await s.state(wid)
            if state.outcome:
                break
            await time_env.sleep(H)
    keys = [o.key for c in CHANNELS for o in s.outbox[c].sent]
    chains = {k.split("/g")[0] for k in keys}
    assert len(chains) == 1, keys  # one run chain, before and after continue-as-new
    assert {k.split("/")[-3] for k in keys} == {"g0", "g1"}
    assert state.generation == 1 and state.outcome == "exhausted"


async def test_an_event_of_another_customer_never_enters_a_run(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    cart = shipped("abandoned_cart")
    data = {"cart": {"id": "c-1", "total": 10, "currency": "EUR", "url": "https://s.test/c",
                     "items": []}}  # fmt: skip
    async with shop(time_env, tmp_path, [cart], [person("a", "A"), person("b", "B")]) as s:
        (wid,) = await s.event("cart_updated", "a", data)
        handle = time_env.client.get_workflow_handle(wid, result_type=RunState)
        # A buggy or hostile caller signals a's run with b's order for the same cart id.
        await handle.signal(
            "event", EventSignal("order_placed", "o-b", "b", data={"order": {"cart_id": "c-1"}})
        )
        state = await handle.query("state", result_type=RunState)
        assert state.outcome == "" and "dropped: an event of another customer" in [
            e.reason for e in state.timeline
        ]
        await s.event("order_placed", "a", {"order": {"cart_id": "c-1"}})
        assert (await handle.result()).outcome == "converted"


async def test_stale_index_rows_route_nothing_and_leave(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Rows for runs that ended, or were indexed but never started (a crash between the index
    write and the start), route nothing and leave the index on first use."""
    cart = shipped("abandoned_cart")
    async with shop(time_env, tmp_path, [cart], [person("9", "N")]) as s:
        index = s.router.index
        await index.add("abandoned_cart/customer-9/cart-never", "abandoned_cart", "9")
        data = {"cart": {"id": "c-2", "total": 10, "currency": "EUR",
                         "url": "https://s.test/c", "items": []}}  # fmt: skip
        (wid,) = await s.event("cart_updated", "9", data)
        assert sorted(await index.for_customer("9", ["abandoned_cart"])) == [
            "abandoned_cart/customer-9/cart-c-2",
            "abandoned_cart/customer-9/cart-never",
        ]
        # The order reaches only the live run; the row of the run that never started leaves.
        assert await s.event("order_placed", "9", {"order": {"cart_id": "c-2"}}) == [wid]
        assert await index.for_customer("9", ["abandoned_cart"]) == [wid]
        handle = time_env.client.get_workflow_handle(wid, result_type=RunState)
        assert (await handle.result()).outcome == "converted"
        # The ended run's row leaves on the next event that would have reached it.
        assert await s.event("message_clicked", "9", {}) == []
        assert await index.for_customer("9", ["abandoned_cart"]) == []


async def test_a_run_that_sent_nothing_says_so(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    nobody = person("0", "Z", email=None, phone=None, telegram_chat_id=None, push_subscriptions=[])
    cart = shipped("abandoned_cart")
    data = {"cart": {"id": "c-3", "total": 10, "currency": "EUR", "url": "https://s.test/c",
                     "items": []}}  # fmt: skip
    async with shop(time_env, tmp_path, [cart], [nobody]) as s:
        (wid,) = await s.event("cart_updated", "0", data)
        await time_env.sleep(12 * H)
        state = await time_env.client.get_workflow_handle(wid, result_type=RunState).result()
        status = (await time_env.client.get_workflow_handle(wid).describe()).status
    assert state.outcome == "nothing_sent" and status == WorkflowExecutionStatus.COMPLETED
    assert {m.reason.split(":")[0] for m in state.messages} == {"no_address"}

"""Record histories of runs started the way production starts them, for the replay test.

Every run here is started by ``Router.route`` (so ``Router.start_request(...).send``): the
current engine revision (``REVISION``), search attributes, the Temporal UI summary, the
``trigger.spread`` start delay, steps-only definitions whose templates the send activity finds by
version, and stored trigger events (``stored=True``, read back by event id). Later events go
through the router too, as the API delivers them. Histories land in ``tests/histories/r<REVISION>/
<scenario>__<case>.json``; the variants in ``variants/`` add the keys a shipped scenario lacks
(learned order, holdout, split, spread), ``variants_best_time/`` the sends held for their best
time.

Run it for a new revision (docs/operations.md, "Changing the workflow"), never to make a
failing replay pass; name scenario ids to record only their cases (a new shipped scenario), or
``scenario/case`` to record one case (a new feature's):
    .venv/bin/python tests/histories/record_router.py [scenario | scenario/case ...]
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from accepting import AcceptingChannel  # noqa: E402
from harness import FULL_CONTACT  # noqa: E402
from temporalio.api.enums.v1 import IndexedValueType  # noqa: E402
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from orchestrator.dev.binaries import test_server  # noqa: E402
from orchestrator.engine import search  # noqa: E402
from orchestrator.engine.activities import Activities  # noqa: E402
from orchestrator.engine.affinity import Tally  # noqa: E402
from orchestrator.engine.contacts import Contact, InMemoryDirectory  # noqa: E402
from orchestrator.engine.definitions import Definitions, InMemoryEventData  # noqa: E402
from orchestrator.engine.learning import (  # noqa: E402
    InMemoryArmLog,
    InMemoryReactionStats,
    Learning,
)
from orchestrator.engine.messages import REVISION, EventSignal, RunState  # noqa: E402
from orchestrator.engine.router import InMemoryRunIndex, Router  # noqa: E402
from orchestrator.engine.runtime import build_worker  # noqa: E402
from orchestrator.engine.send_time import Reaction  # noqa: E402
from orchestrator.engine.sendlog import InMemorySendLog  # noqa: E402
from orchestrator.engine.timing import InMemoryReactionTimes, SendTiming  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.language.model import CHANNELS, Scenario  # noqa: E402

ROOT = HERE.parent.parent
OUT = HERE / f"r{REVISION}"
COMMAND = ".venv/bin/python tests/histories/record_router.py"

H = 3600
D = 24 * H
SETTLE_S = 10 * D


def contact(cid: str, **changes: Any) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, "id": cid, **changes})


#: Several customers; some lack a channel, so first_of and the ladder move on.
CONTACTS = [
    contact("ann"),
    contact("bob", telegram_chat_id=None),
    contact("cara", timezone="Europe/Berlin"),
    contact("dan", push_subscriptions=[]),
    contact("eve", locale="ru"),
    contact("hal"),
    contact("kim"),
    contact("xia", consents={"email": True, "push": False, "telegram": True, "sms": True}),
]
#: Past reactions: learned ladders put eve's telegram first, and cost sorts out sms.
HISTORY = {"eve": {"telegram": Tally(6, 5), "email": Tally(9, 1), "sms": Tally(12, 0)}}


def opened_at(hour: int, days: int) -> list[Reaction]:
    """An email opened at ``hour``:10 UTC on each of the ``days`` days before the recording
    (the test server's clock starts at the real now: the history follows it)."""
    now = datetime.now().astimezone()
    first = now.replace(hour=hour, minute=10, second=0, microsecond=0)
    return [Reaction(first - timedelta(days=d), "email", "opened") for d in range(1, days + 1)]


#: When customers reacted, for sends held for their best time: cara (Berlin) in the evening,
#: ann at noon; the others have none (the shop's hours, then the fallback, decide).
TIMES = {"cara": opened_at(18, 5), "ann": opened_at(12, 4)}
SHOP = {
    "email": Tally(1000, 200),
    "push": Tally(800, 60),
    "telegram": Tally(400, 40),
    "sms": Tally(500, 10),
}


#: (offset seconds from the case's start, customer, event, data) — data may depend on the clock.
Step = tuple[int, str, str, dict[str, Any] | Callable[[datetime], dict[str, Any]]]


@dataclass
class Case:
    scenario: str
    name: str
    #: customer -> the case name of that customer's run in the file name.
    runs: dict[str, str]
    script: list[Step]
    variant: bool = False
    #: The variants' folder when not ``variants/`` (one variant per scenario id a folder).
    folder: str = ""


@dataclass
class Shop:
    """The API's start path on the time-skipping server: router, worker, stores."""

    env: WorkflowEnvironment
    scenarios: dict[str, Scenario]
    events: InMemoryEventData = field(default_factory=InMemoryEventData)
    index: InMemoryRunIndex = field(default_factory=InMemoryRunIndex)
    queue: str = field(default_factory=lambda: f"record-{uuid.uuid4().hex[:8]}")
    count: int = 0
    #: Every run the router started (the index forgets a run once it has ended).
    started: dict[str, str] = field(default_factory=dict)

    def router(self) -> Router:
        return Router(
            self.env.client,
            self.scenarios,
            task_queue=self.queue,
            index=self.index,
            definitions=Definitions(),
        )

    def activities(self) -> Activities:
        return Activities(
            directory=InMemoryDirectory(CONTACTS),
            send_log=InMemorySendLog(),
            channels={c: AcceptingChannel(c) for c in CHANNELS},
            definitions=Definitions(),
            events=self.events,
        )

    async def deliver(self, router: Router, customer: str, name: str, data: dict[str, Any]) -> None:
        """As the API does: store the event, then route it (``signal_of`` marks it stored)."""
        self.count += 1
        event_id = f"{self.queue}-e{self.count}"
        self.events.keep(event_id, data)
        now = (await self.env.get_current_time()).isoformat()
        signal = EventSignal(name, event_id, customer, occurred_at=now, data=data, stored=True)
        routed = await router.route(signal)
        for wid in routed.started_or_signalled:
            self.started.setdefault(wid, customer)


async def next_morning(env: WorkflowEnvironment) -> datetime:
    """Skip to 10:00 UTC of the next day: quiet hours do not blur what a case exercises."""
    now = await env.get_current_time()
    target = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    await env.sleep((target - now).total_seconds())
    return await env.get_current_time()


async def record(env: WorkflowEnvironment, case: Case, scenarios: dict[str, Scenario]) -> None:
    shop = Shop(env, {case.scenario: scenarios[case.scenario]})
    activities = shop.activities()
    learning = Learning.beside(
        activities, stats=InMemoryReactionStats.scripted(HISTORY, SHOP), arms=InMemoryArmLog()
    )
    router = shop.router()
    started = await next_morning(env)
    timing = SendTiming.beside(activities, times=InMemoryReactionTimes(TIMES))
    async with build_worker(
        env.client,
        task_queue=shop.queue,
        activities=activities,
        learning=learning,
        timing=timing,
        fail_fast=True,
    ):
        for offset, customer, name, data in case.script:
            now = (await env.get_current_time() - started).total_seconds()
            if offset > now:
                await env.sleep(offset - now)
            payload = data(started) if callable(data) else data
            await shop.deliver(router, customer, name, payload)
        # A handle from get_workflow_handle does not skip time while awaiting its result: skip
        # past every case's end (the longest: a 7-day goal window after a 2-hour spread).
        await env.sleep(SETTLE_S)
        for wid, customer in sorted(shop.started.items()):
            handle = env.client.get_workflow_handle(wid, result_type=RunState)
            state = await handle.result()
            history = await handle.fetch_history()
            path = OUT / f"{case.scenario}__{case.runs[customer]}.json"
            path.write_text(history.to_json(), encoding="utf-8")
            sends = ", ".join(f"{m.channel}:{m.status or m.kind}" for m in state.messages)
            print(f"recorded {path.relative_to(HERE)}: {len(history.events)} events, ", end="")
            print(f"outcome {state.outcome}; {sends}")
            for m in state.messages:
                if m.status not in ("sent", "deferred"):
                    print("   ", m.channel, m.status, m.reason)


def webinar(starts_in: timedelta) -> Callable[[datetime], dict[str, Any]]:
    def data(start: datetime) -> dict[str, Any]:
        starts = (start + starts_in).isoformat()
        url = "https://shop.example/webinar/w-12"
        return {"webinar": {"id": "w-12", "title": "Spring live", "starts_at": starts, "url": url}}

    return data


ITEMS = [{"name": "Linen shirt", "qty": 1, "price": 59.9}]
CART = {
    "cart": {
        "id": "c-981",
        "total": 59.9,
        "currency": "EUR",
        "url": "https://shop.example/cart/c-981",
        "items": ITEMS,
    }
}
CART2 = {"cart": {**CART["cart"], "total": 72.5, "items": [*ITEMS, {**ITEMS[0], "qty": 2}]}}
CART7 = {"cart": {**CART["cart"], "id": "c-7", "total": 12, "url": "https://shop.example/c/7"}}
ORDER = {"order": {"id": "o-77", "cart_id": "c-981", "total": 72.5}}


def drop(product: str, price: float) -> dict[str, Any]:
    url = f"https://shop.example/p/{product}"
    item = {"id": product, "name": f"Item {product}", "url": url}
    return {"product": item, "price": price, "was": 99.0, "currency": "EUR"}


VIEW = {"product": {"id": "p-5", "name": "Linen", "price": 59.9, "url": "https://shop.example/p/5"}}

CASES = [
    Case(
        "abandoned_cart",
        "shared_cart",
        {"ann": "restart_converted", "bob": "opened_stops_ladder"},
        [
            (0, "ann", "cart_updated", CART),
            (0, "bob", "cart_updated", CART),  # the same cart id, another customer: another run
            (1800, "ann", "cart_updated", CART2),  # again: restart
            (2 * H, "ann", "order_placed", {"order": {"id": "o-1", "cart_id": "c-000"}}),
            (6 * H, "bob", "message_opened", {}),  # after email and push: the ladder stops
            (7 * H, "ann", "order_placed", ORDER),  # converts mid-ladder
        ],
    ),
    Case(
        "abandoned_cart",
        "exit",
        {"cara": "exit", "dan": "full_ladder"},
        [
            (0, "cara", "cart_updated", CART),
            (0, "dan", "cart_updated", CART7),
            (3 * H, "cara", "cart_emptied", {"cart": {"id": "c-981"}}),
        ],
    ),
    Case(
        "abandoned_cart",
        "learned",
        {"eve": "learned_holdout_spread", "cara": "held_out"},
        [
            (0, "eve", "cart_updated", CART),
            (0, "cara", "cart_updated", CART),
            (9 * H, "eve", "message_clicked", {}),
            (30 * H, "cara", "order_placed", ORDER),
        ],
        variant=True,
    ),
    Case(
        "browse_followup",
        "shipped",
        {"ann": "repeat_bought", "bob": "timeout_discount"},
        [
            (0, "ann", "product_viewed", VIEW),
            (0, "bob", "product_viewed", VIEW),  # the same product id, another customer
            (H, "ann", "product_viewed", VIEW),  # again: ignore
            (3 * H, "ann", "order_placed", {"order": {"id": "o-2", "product_ids": ["p-5"]}}),
            (2 * D + 2 * H, "bob", "message_opened", {}),
            (2 * D + 3 * H, "bob", "cart_updated", CART),
        ],
    ),
    Case(
        "browse_followup",
        "variant",
        {"dan": "holdout_spread_not_interested", "xia": "held_out"},
        [
            (0, "dan", "product_viewed", VIEW),
            (0, "xia", "product_viewed", VIEW),
            (5 * H, "xia", "order_placed", {"order": {"id": "o-3", "product_ids": ["p-5"]}}),
        ],
        variant=True,
    ),
    Case(
        "webinar_reminder",
        "shipped",
        {"ann": "clicked_joined", "bob": "sms_reminders"},
        [
            (0, "ann", "webinar_registered", webinar(timedelta(days=2))),
            (0, "bob", "webinar_registered", webinar(timedelta(days=2))),  # the same webinar id
            (H, "ann", "webinar_registered", webinar(timedelta(days=2))),  # repeated trigger
            (D + 2 * H, "ann", "message_clicked", {}),
            (2 * D - 5 * 60, "ann", "webinar_joined", {}),  # converts before its last step
        ],
    ),
    Case(
        "webinar_reminder",
        "variant",
        {"dan": "holdout_spread", "kim": "held_out"},
        [
            (0, "dan", "webinar_registered", webinar(timedelta(days=2))),
            (0, "kim", "webinar_registered", webinar(timedelta(days=2))),
        ],
        variant=True,
    ),
    Case(
        "welcome_series",
        "shipped",
        {"ann": "repeat_opened", "bob": "converted", "dan": "nudge"},
        [
            (0, "ann", "signed_up", {"source": "checkout"}),
            (0, "bob", "signed_up", {"source": "newsletter"}),
            (0, "dan", "signed_up", {"source": "checkout"}),
            (H, "ann", "signed_up", {"source": "checkout"}),  # again: ignore
            (2 * D + 2 * H, "ann", "message_opened", {}),
            (3 * D, "bob", "order_placed", {"order": {"id": "o-9", "total": 20}}),
        ],
    ),
    Case(
        "price_drop_digest",
        "digest",
        {"ann": "three_products", "bob": "bought_meanwhile", "kim": "max_then_next"},
        [
            (0, "ann", "price_dropped", drop("p-1", 40)),
            (0, "bob", "price_dropped", drop("p-1", 40)),
            (0, *("kim", "price_dropped", drop("k-0", 1))),
            *[(60, "kim", "price_dropped", drop(f"k-{n}", n)) for n in range(1, 22)],
            (300, "ann", "price_dropped", drop("p-2", 30)),
            (600, "ann", "price_dropped", drop("p-1", 35)),  # p-1 again: the newest price
            (900, "bob", "order_placed", ORDER),
            (1200, "ann", "price_dropped", drop("p-3", 20)),
        ],
    ),
    Case(
        "price_drop_digest",
        "variant",
        {"hal": "second_window_empty", "cara": "second_window_listed"},
        [
            (0, "hal", "price_dropped", drop("p-1", 40)),
            (0, "cara", "price_dropped", drop("p-1", 40)),  # the same product, another run
            (600, "hal", "price_dropped", drop("p-2", 30)),
            (H, "cara", "price_dropped", drop("p-3", 20)),  # in cara's second window only
        ],
        variant=True,
    ),
    Case(
        "price_drop_digest",
        "best_time",
        {"cara": "best_time_held", "ann": "best_time_goal", "kim": "best_time_rung"},
        [
            (0, "cara", "price_dropped", drop("p-1", 40)),
            (0, "ann", "price_dropped", drop("p-1", 40)),  # the same product, another run
            (0, "kim", "price_dropped", drop("p-2", 30)),
            (600, "cara", "price_dropped", drop("p-3", 20)),
            (H, "ann", "order_placed", ORDER),  # during ann's hold: converted, unsent
        ],
        variant=True,
        folder="variants_best_time",
    ),
    Case(
        "welcome_series",
        "variant",
        {"ann": "split_holdout_spread", "eve": "split_other", "xia": "held_out"},
        [
            (0, "ann", "signed_up", {"source": "checkout"}),
            (0, "eve", "signed_up", {"source": "checkout"}),
            (0, "xia", "signed_up", {"source": "checkout"}),
            (D, "eve", "order_placed", {"order": {"id": "o-10", "total": 30}}),
        ],
        variant=True,
    ),
]


async def main() -> None:
    shipped = load_or_raise([ROOT / "scenarios"], ROOT / "templates")
    variants = load_or_raise([HERE / "variants"], ROOT / "templates")
    OUT.mkdir(exist_ok=True)
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server()
    ) as env:
        # Production's namespace has Omni's search attributes (omni doctor checks): so here.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in search.ALL
                },
            )
        )
        only = set(sys.argv[1:])  # scenario ids (or scenario/case): record only those cases
        for case in CASES:
            if only and not {case.scenario, f"{case.scenario}/{case.name}"} & only:
                continue
            found = variants if case.variant else shipped
            if case.folder:
                found = load_or_raise([HERE / case.folder], ROOT / "templates")
            await record(env, case, found)


if __name__ == "__main__":
    asyncio.run(main())

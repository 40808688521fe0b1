"""Engine cost and throughput: Omni's abandoned_cart against the same ladder written by hand.

    .venv/bin/python bench/engine.py [--runs 300] [--concurrency 50] [--rounds 6]
    .venv/bin/python bench/engine.py --memory [--runs 10000]

Baseline: bench/hand_ladder.py, the ladder as a plain Temporal workflow (sleep 1 s, email via
Omni's own ``send`` activity, wait 1 s for a reaction signal, push, wait, Telegram, wait, SMS;
Omni's timeouts and retry policy). Omni: ScenarioWorkflow running the shipped abandoned_cart
with every wait shortened to 1 s, no quiet hours and no cap. Both start by signal-with-start,
send to recording channels, on the same Temporal dev server, in alternating rounds with
identical workers (this process; sandbox, passthrough, 200 activity slots, 1,000 cached runs).

Per run, from sampled histories: events, bytes (``describe()``'s history_size_bytes, as
Temporal counts it, and the sum of the events' sizes), billable actions by Temporal Cloud's
published rules (bench/actions.py) and, as a cross-check, the dev server's own ``action``
counter per run. Then the monthly cost of 10 M runs, the targets, what one more rung costs
(a second email rung) and the history of a run whose cart is 100 KB. ``--memory``: see
bench/engine_memory.py. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import resource
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from hand_ladder import Cart, HandLadder, LadderInput, Rung  # noqa: E402

from bench.actions import Actions, billable_actions, history_bytes, monthly_cost  # noqa: E402
from bench.server_metrics import ActionCounter  # noqa: E402
from channels.recording import RecordingChannel  # noqa: E402
from orchestrator.api.serve import free_port  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.activities import Activities  # noqa: E402
from orchestrator.engine.contacts import Contact, InMemoryDirectory  # noqa: E402
from orchestrator.engine.definitions import InMemoryEventData  # noqa: E402
from orchestrator.engine.messages import EventSignal, RunState  # noqa: E402
from orchestrator.engine.policies import FrequencyPolicy  # noqa: E402
from orchestrator.engine.router import Router  # noqa: E402
from orchestrator.engine.runtime import PASSTHROUGH, build_worker  # noqa: E402
from orchestrator.engine.sendlog import InMemorySendLog  # noqa: E402
from orchestrator.language.loader import load_or_raise, version_of  # noqa: E402
from orchestrator.language.model import CHANNELS, Scenario  # noqa: E402

MONTHLY_RUNS = 10_000_000
PRICES = (25, 50)  # dollars per million actions
TARGET_ACTIONS, TARGET_BYTES, TARGET_RATIO = 10, 10 * 1024, 0.9


def fast_cart(*, second_email: bool = False) -> Scenario:
    """The shipped abandoned_cart, 1-second waits; optionally a fifth rung (email again)."""
    s = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["abandoned_cart"]
    s.quiet_hours, s.frequency_caps = None, []
    s.steps[0].wait_s = 1
    rungs = s.steps[1].rungs
    for rung in rungs:
        rung.wait_s = 1 if rung.wait_s else None
    if second_email:
        rungs.insert(len(rungs) - 1, copy.deepcopy(rungs[0]))
    s.version = version_of(s)
    return s


def hand_rungs(s: Scenario) -> list[Rung]:
    """The same rungs, templates and sources for the hand-written ladder."""
    return [
        Rung(r.channel, r.template, s.templates[f"{r.template}/{r.channel}"])
        for r in s.steps[1].rungs
    ]


#: Shaped like a browser's keys (a 65-byte point, a 16-byte secret): contacts check them.
PUSH_KEYS = {
    "p256dh": (
        "BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
    ),
    "auth": "AAECAwQFBgcICQoLDA0ODw",
}


def contact(i: int) -> Contact:
    return Contact.model_validate(
        {
            "id": f"b{i}",
            "email": f"b{i}@example.com",
            "phone": "+15005550006",
            "telegram_chat_id": str(1000 + i),
            "timezone": "UTC",
            "push_subscriptions": [{"endpoint": f"https://push.test/{i}", "keys": PUSH_KEYS}],
            "consents": dict.fromkeys(CHANNELS, True),
        }
    )


def cart(cart_id: str, *, size: int = 0) -> dict[str, Any]:
    """cart_updated data; ``size`` > 0 pads the items until the JSON is that many bytes."""
    data: dict[str, Any] = {
        "cart": {
            "id": cart_id,
            "total": 42.0,
            "currency": "EUR",
            "url": "https://shop.example/cart",
            "items": [],
        }
    }
    item = {"sku": "sku-00000", "name": "Linen shirt, size M, sky blue", "qty": 1, "price": 4.2}
    while size and len(json.dumps(data)) < size:
        data["cart"]["items"].append({**item, "sku": f"sku-{len(data['cart']['items']):05d}"})
    return data


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Sample:
    """Per-run figures of a few runs of one kind."""

    events: list[int] = field(default_factory=list)
    bytes_described: list[int] = field(default_factory=list)
    bytes_summed: list[int] = field(default_factory=list)
    actions: list[Actions] = field(default_factory=list)
    #: Actions before the first timer fires: what a burst of carts costs at once.
    at_start: list[int] = field(default_factory=list)
    #: The dev server's action counter divided by the runs of the phase.
    server_actions: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def mean(self, values: list[int] | list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    @property
    def actions_per_run(self) -> float:
        return self.mean([a.total for a in self.actions])


async def measure(handles: list[WorkflowHandle[Any, Any]], sample: Sample) -> None:
    for h in handles:
        events = list((await h.fetch_history()).events)
        info = (await h.describe()).raw_description.workflow_execution_info
        sample.events.append(len(events))
        sample.bytes_summed.append(history_bytes(events))
        sample.bytes_described.append(info.history_size_bytes)
        sample.actions.append(billable_actions(events))
        fired = [e.event_type for e in events].index(EventType.EVENT_TYPE_TIMER_FIRED)
        sample.at_start.append(billable_actions(events[:fired]).total)


class Bench:
    def __init__(self, client: Client, counter: ActionCounter, concurrency: int) -> None:
        self.client, self.counter, self.concurrency = client, counter, concurrency
        self.events = InMemoryEventData()
        self.phases = 0

    def activities(self, n: int) -> tuple[Activities, dict[str, RecordingChannel]]:
        recorders = {c: RecordingChannel(c) for c in CHANNELS}
        directory = InMemoryDirectory([contact(i) for i in range(n)])
        # No shop-wide cap either (the default, 4 a day, would stop the fifth rung).
        acts = Activities(
            directory=directory,
            send_log=InMemorySendLog(),
            channels=dict(recorders),
            policy=FrequencyPolicy(caps=()),
            events=self.events,
        )
        return acts, recorders

    def worker(self, kind: str, queue: str, acts: Activities) -> Worker:
        if kind == "omni":
            return build_worker(
                self.client, task_queue=queue, activities=acts, max_concurrent_activities=200
            )
        return Worker(
            self.client,
            task_queue=queue,
            workflows=[HandLadder],
            activities=[acts.send],
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
            ),
            max_cached_workflows=1000,
            max_concurrent_activities=200,
        )

    async def start(
        self, kind: str, s: Scenario, queue: str, i: int, data: dict[str, Any]
    ) -> WorkflowHandle[Any, Any]:
        customer, event_id = f"b{i}", f"{data['cart']['id']}-e"
        if kind == "omni":
            # As the API does: the event is stored, then routed (signal-with-start).
            self.events.keep(event_id, data)
            router = Router(self.client, {s.id: s}, task_queue=queue, record_runs=False)
            event = EventSignal("cart_updated", event_id, customer, data=data, stored=True)
            (wid,) = (await router.route(event)).started_or_signalled
            return self.client.get_workflow_handle(wid, result_type=RunState)
        return await self.client.start_workflow(
            HandLadder.run,
            LadderInput(customer_id=customer, rungs=hand_rungs(s), category=s.category),
            id=f"hand_ladder/customer-{customer}/cart-{data['cart']['id']}",
            task_queue=queue,
            start_signal="cart_updated",
            start_signal_args=[Cart(event_id, data)],
        )

    async def phase(
        self, kind: str, s: Scenario, n: int, *, cart_size: int = 0
    ) -> tuple[float, list[WorkflowHandle[Any, Any]], float]:
        """N runs of ``kind`` to completion: (seconds, handles, server actions per run)."""
        acts, recorders = self.activities(n)
        # A queue per phase, named as short as a real one (`omni`): the name is in ~14 of a
        # run's events, so a long test name would inflate the history of both ladders.
        self.phases += 1
        queue, tag = f"{kind[0]}{self.phases}", uuid.uuid4().hex[:8]
        handles: list[WorkflowHandle[Any, Any]] = []
        before = await self.counter.settled()
        async with self.worker(kind, queue, acts):
            starts, waits = asyncio.Semaphore(self.concurrency), asyncio.Semaphore(100)

            async def one(i: int) -> str:
                data = cart(f"{tag}-{i}", size=cart_size)
                async with starts:
                    handle = await self.start(kind, s, queue, i, data)
                handles.append(handle)
                # Result waits are long polls: bounded below the server's poller limit.
                async with waits:
                    return str((await handle.result()).outcome)

            t0 = time.perf_counter()
            outcomes = await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - t0
        sent = sum(len(o.sent) for o in recorders.values())
        rungs = len(s.steps[1].rungs)
        assert set(outcomes) == {"exhausted"}, f"{kind}: outcomes {set(outcomes)}"
        assert sent == rungs * n, f"{kind}: expected {rungs * n} sends, saw {sent}"
        server = (await self.counter.settled() - before) / n
        return elapsed, handles, server


def line(label: str, hand: str, omni: str) -> str:
    return f"  {label:<38} {hand:>16} {omni:>16}"


def flag(ok: bool) -> str:
    return "PASS" if ok else "MISS"


async def main(n: int, concurrency: int, rounds: int, sample_size: int) -> None:
    metrics_port = free_port()
    env = await start_dev_server(metrics_port=metrics_port)
    s4, s5 = fast_cart(), fast_cart(second_email=True)
    kinds = ("hand", "omni")
    samples = {k: Sample() for k in kinds}
    extra = {k: Sample() for k in kinds}
    big = {k: Sample() for k in kinds}
    async with env:
        bench = Bench(env.client, ActionCounter(metrics_port), concurrency)
        await bench.phase("hand", s4, 5)  # warm-up, not counted: imports, sandbox, caches
        await bench.phase("omni", s4, 5)
        print(
            f"runs per round: {n}, rounds: {rounds} (hand and omni alternating), start "
            f"concurrency: {concurrency}; each run: 1 s, email, 1 s, push, 1 s, telegram, 1 s, sms"
        )
        for r in range(rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            shown = []
            for kind in order:
                elapsed, handles, server = await bench.phase(kind, s4, n)
                samples[kind].rates.append(n / elapsed)
                samples[kind].server_actions.append(server)
                await measure(handles[:: max(1, n // sample_size)][:sample_size], samples[kind])
                shown.append(f"{kind} {n / elapsed:6.1f} runs/s ({elapsed:5.1f} s)")
            print(f"round {r + 1}: " + ",  ".join(shown))
        for kind in kinds:
            _, handles, server = await bench.phase(kind, s5, 3)
            extra[kind].server_actions.append(server)
            await measure(handles, extra[kind])
            _, handles, server = await bench.phase(kind, s4, 3, cart_size=100_000)
            big[kind].server_actions.append(server)
            await measure(handles, big[kind])
    report(samples, extra, big)
    print(f"bench process peak RSS (client and both workers): {rss_mib():.0f} MiB")


def report(samples: dict[str, Sample], extra: dict[str, Sample], big: dict[str, Sample]) -> None:
    hand, omni = samples["hand"], samples["omni"]
    hand_rate, omni_rate = statistics.median(hand.rates), statistics.median(omni.rates)
    # Each round's own ratio: the dev server slows as runs pile up, so rates of different
    # rounds are not comparable, the two phases of one round are (their order alternates).
    per_round = [o / h for h, o in zip(hand.rates, omni.rates, strict=True)]
    ratio = statistics.median(per_round)
    print(
        f"throughput (median of rounds): hand {hand_rate:.1f} runs/s, omni {omni_rate:.1f} "
        f"runs/s; omni/hand per round {', '.join(f'{x:.2f}' for x in per_round)}, "
        f"median {ratio:.2f}"
    )
    print(line(f"per run (mean of {len(omni.events)} sampled runs each)", "hand ladder", "omni"))
    print(line("history events", f"{hand.mean(hand.events):.0f}", f"{omni.mean(omni.events):.0f}"))
    for label, attr in (("(describe)", "bytes_described"), ("(sum of events)", "bytes_summed")):
        h, o = hand.mean(getattr(hand, attr)), omni.mean(getattr(omni, attr))
        print(line(f"history bytes {label}", f"{h:,.0f}", f"{o:,.0f}"))
    print(
        line(
            "billable actions (history, rules)",
            f"{hand.actions_per_run:.1f}",
            f"{omni.actions_per_run:.1f}",
        )
    )
    h, o = hand.mean(hand.at_start), omni.mean(omni.at_start)
    print(line("  of which before the first wait ends", f"{h:.1f}", f"{o:.1f}"))
    for kind, sample in samples.items():
        print(f"    {kind}: {sample.actions[0].describe()}")
    h, o = hand.mean(hand.server_actions), omni.mean(omni.server_actions)
    print(line("actions (dev server's action metric)", f"{h:.2f}", f"{o:.2f}"))
    for price in PRICES:
        h = monthly_cost(hand.actions_per_run, MONTHLY_RUNS, price)
        o = monthly_cost(omni.actions_per_run, MONTHLY_RUNS, price)
        print(line(f"$/month, 10 M runs at ${price}/M actions", f"${h:,.0f}", f"${o:,.0f}"))
    described = omni.mean(omni.bytes_described)
    print("targets (omni):")
    actions = omni.actions_per_run
    print(f"  actions/run <= {TARGET_ACTIONS}: {actions:.1f}  {flag(actions <= TARGET_ACTIONS)}")
    print(f"  history <= 10 KB: {described / 1024:.1f} KB  {flag(described <= TARGET_BYTES)}")
    print(f"  throughput >= {TARGET_RATIO}x hand: {ratio:.2f}x  {flag(ratio >= TARGET_RATIO)}")
    print("one more rung (5 rungs: a second email rung before sms), per run:")
    for kind in ("hand", "omni"):
        a4, a5 = samples[kind].actions_per_run, extra[kind].actions_per_run
        b4, b5 = (
            samples[kind].mean(samples[kind].bytes_described),
            extra[kind].mean(extra[kind].bytes_described),
        )
        print(
            f"  {kind}: actions(5) - actions(4) = {a5:.0f} - {a4:.0f} = {a5 - a4:+.0f}, "
            f"history bytes {b5 - b4:+,.0f}"
        )
    size = len(json.dumps(cart("x", size=100_000)))
    print(f"100 KB cart (cart_updated data {size:,} bytes), 4 rungs, history bytes per run:")
    for kind in ("hand", "omni"):
        b, a = big[kind].mean(big[kind].bytes_described), big[kind].actions_per_run
        print(f"  {kind}: {b:,.0f} ({b / size:.1f}x the cart); actions {a:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=None, help="per round (default 300; --memory: 10000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="starts in flight")
    parser.add_argument("--rounds", type=int, default=6, help="even: each kind goes first as often")
    parser.add_argument("--sample", type=int, default=10, help="histories read per round")
    parser.add_argument(
        "--memory", action="store_true", help="runs waiting on a long timer: worker RSS"
    )
    args = parser.parse_args()
    if args.memory:
        from bench.engine_memory import main as memory_main

        asyncio.run(memory_main(args.runs or 10_000, args.concurrency))
    else:
        asyncio.run(main(args.runs or 300, args.concurrency, args.rounds, args.sample))
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

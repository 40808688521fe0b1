"""Engine cost and throughput: Omni's abandoned_cart against the same ladder written by hand.

    .venv/bin/python bench/engine.py [--runs 300] [--concurrency 50] [--rounds 6] [--profile]
    .venv/bin/python bench/engine.py --memory [--runs 10000]

The baseline, bench/hand_ladder.py, is the ladder as a Temporal engineer would write it (see
its docstring). What is the same for both, and why:

- **the server and the client**: one Temporal dev server, one client, so the same data
  converter (Omni's compact JSON converter; no codec on either) and the same connection;
- **the worker**: built with the same options — the sandboxed runner with Omni's passthrough
  list (``PASSTHROUGH``, plus ``bench`` so the hand-written workflow's own module is not
  re-imported for every run, as Omni's is not), 1,000 cached runs, 200 activity slots, no
  workflow failure types; each kind gets its own task queue per phase, named as short;
- **the start**: signal-with-start with the cart_updated event as the start signal,
  ``USE_EXISTING`` on conflict, the same workflow id format; the event stored first (as the
  API stores it) and both ladders' sends read it by id;
- **the send**: Omni's ``send`` activity, the same request shape by reference (template by
  scenario version, cart by event id), the same timeouts (2 min start-to-close, 10 s
  heartbeat) and retry policy (``SEND_RETRY``), the same outbox channels, contact directory
  and send log;
- **the work**: the trigger condition, a 1 s wait, four rungs 1 s apart with a reaction check
  before each and a reaction wait (a timer) after each but the last, no reaction arriving.

What differs is what Omni is: a generic interpreter whose input carries the scenario's steps,
with search attributes set at start, the Temporal UI's summary, details and timer/activity
summaries, an ``OmniOutcome`` upsert and a result listing the messages. ``--profile`` samples
this process with py-spy during one more round and prints where its CPU goes.

Per phase: wall time, this process's CPU (client and worker) and the dev server's, both per
run. Rounds alternate which kind goes first; each figure's ratio is taken per round (the dev
server slows as runs pile up) and the median quoted. Per run, from sampled histories: events,
bytes (``describe()``'s history_size_bytes and the sum of the events), the bytes by part
(bench/history.py), billable actions by Temporal Cloud's published rules (bench/actions.py)
and the dev server's own ``action`` counter. Then one more rung (a second email rung) and a
100 KB cart. Every round and figure is appended to bench/results/engine.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.actions import Actions, billable_actions, history_bytes, monthly_cost  # noqa: E402
from bench.hand_ladder import Cart, HandLadder, LadderInput  # noqa: E402
from bench.history import parts  # noqa: E402
from bench.profiling import Spy  # noqa: E402
from bench.runlog import RESULTS, Clock, Run, children_named  # noqa: E402
from bench.server_metrics import ActionCounter  # noqa: E402
from channels.recording import RecordingChannel  # noqa: E402
from orchestrator.api.serve import free_port  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.activities import Activities  # noqa: E402
from orchestrator.engine.contacts import Contact, InMemoryDirectory  # noqa: E402
from orchestrator.engine.definitions import remember  # noqa: E402
from orchestrator.engine.ids import run_key, workflow_id  # noqa: E402
from orchestrator.engine.messages import EventSignal, RunState  # noqa: E402
from orchestrator.engine.policies import FrequencyPolicy  # noqa: E402
from orchestrator.engine.router import Router  # noqa: E402
from orchestrator.engine.runtime import PASSTHROUGH, build_worker  # noqa: E402
from orchestrator.engine.sendlog import InMemorySendLog  # noqa: E402
from orchestrator.language.loader import load_or_raise, version_of  # noqa: E402
from orchestrator.language.model import CHANNELS, Scenario  # noqa: E402

MONTHLY_RUNS = 10_000_000
PRICES = (25, 50)  # dollars per million actions
KINDS = ("hand", "omni")
#: Issue 24's targets, Omni against the hand-written ladder.
TARGETS = {
    "history bytes per run": ("<=", 1.0),
    "history bytes per extra rung": ("<=", 1.0),
    "CPU per run (client + worker process)": ("<=", 1.05),
    "throughput": (">=", 0.95),
}
ACTIONS_MAX, ACTIONS_PER_RUNG = 10, 2


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
    remember(s)  # both ladders' sends find its templates by version
    return s


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


@dataclass
class Sample:
    """Per-run figures of the sampled runs of one kind."""

    events: list[int] = field(default_factory=list)
    bytes_described: list[int] = field(default_factory=list)
    bytes_summed: list[int] = field(default_factory=list)
    parts: list[Counter[str]] = field(default_factory=list)
    actions: list[Actions] = field(default_factory=list)
    #: Actions before the first timer fires: what a burst of carts costs at once.
    at_start: list[int] = field(default_factory=list)
    #: The dev server's action counter divided by the runs of the phase.
    server_actions: list[float] = field(default_factory=list)

    @staticmethod
    def mean(values: list[int] | list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    @property
    def actions_per_run(self) -> float:
        return self.mean([a.total for a in self.actions])

    @property
    def described(self) -> float:
        return self.mean(self.bytes_described)

    def part(self, name: str) -> float:
        return self.mean([p[name] for p in self.parts])


async def measure(handles: list[WorkflowHandle[Any, Any]], sample: Sample) -> None:
    for h in handles:
        events = list((await h.fetch_history()).events)
        info = (await h.describe()).raw_description.workflow_execution_info
        sample.events.append(len(events))
        sample.bytes_summed.append(history_bytes(events))
        sample.bytes_described.append(info.history_size_bytes)
        sample.parts.append(parts(events))
        sample.actions.append(billable_actions(events))
        fired = [e.event_type for e in events].index(EventType.EVENT_TYPE_TIMER_FIRED)
        sample.at_start.append(billable_actions(events[:fired]).total)


class StoredEvents:
    """The API's event store, in memory: both ladders' sends read their cart by event id."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    async def data_of(self, event_id: str) -> dict[str, Any] | None:
        return self.data.get(event_id)


@dataclass
class Phase:
    """N runs of one kind to completion."""

    seconds: float
    cpu: float  # this process: the client and the worker
    server_cpu: float  # the dev server
    handles: list[WorkflowHandle[Any, Any]]
    server_actions: float  # per run, by the dev server's counter


class Bench:
    def __init__(
        self, client: Client, counter: ActionCounter, concurrency: int, server: int
    ) -> None:
        self.client, self.counter, self.concurrency = client, counter, concurrency
        self.server = server
        self.events = StoredEvents()
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
        # build_worker's options, with the hand-written workflow's module passed through too.
        return Worker(
            self.client,
            task_queue=queue,
            workflows=[HandLadder],
            activities=[acts.send],
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(
                    *PASSTHROUGH, "bench"
                )
            ),
            max_cached_workflows=1000,
            max_concurrent_activities=200,
            workflow_failure_exception_types=[],
        )

    async def start(
        self, kind: str, s: Scenario, router: Router, queue: str, i: int, data: dict[str, Any]
    ) -> WorkflowHandle[Any, Any]:
        customer, event_id = f"b{i}", f"{data['cart']['id']}-e"
        self.events.data[event_id] = data  # as the API does: stored, then started
        if kind == "omni":
            event = EventSignal("cart_updated", event_id, customer, data=data, stored=True)
            (wid,) = (await router.route(event)).started_or_signalled
            return self.client.get_workflow_handle(wid, result_type=RunState)
        return await self.client.start_workflow(
            HandLadder.run,
            LadderInput(
                customer_id=customer,
                version=s.version,
                first_wait_s=1,
                rung_wait_s=1,
                five_rungs=len(s.steps[1].rungs) == 5,
            ),
            id=workflow_id(s.id, run_key(s, customer, data)),
            task_queue=queue,
            start_signal="cart_updated",
            start_signal_args=[Cart(event_id, data)],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def phase(self, kind: str, s: Scenario, n: int, *, cart_size: int = 0) -> Phase:
        acts, outbox = self.activities(n)
        # A queue per phase, named as short as a real one (`omni`): the name is in ~14 of a
        # run's events, so a long test name would inflate the history of both ladders.
        self.phases += 1
        queue, tag = f"{kind[0]}{self.phases}", uuid.uuid4().hex[:8]
        router = Router(self.client, {s.id: s}, task_queue=queue, record_runs=False)
        handles: list[WorkflowHandle[Any, Any]] = []
        before = await self.counter.settled()
        async with self.worker(kind, queue, acts):
            starts, waits = asyncio.Semaphore(self.concurrency), asyncio.Semaphore(100)

            async def one(i: int) -> str:
                data = cart(f"{tag}-{i}", size=cart_size)
                async with starts:
                    handle = await self.start(kind, s, router, queue, i, data)
                handles.append(handle)
                # Result waits are long polls: bounded below the server's poller limit.
                async with waits:
                    return str((await handle.result()).outcome)

            clock = Clock({"server": self.server})
            outcomes = await asyncio.gather(*(one(i) for i in range(n)))
            seconds, cpu, others = clock.read()
        sent = sum(len(o.sent) for o in outbox.values())
        rungs = len(s.steps[1].rungs)
        assert set(outcomes) == {"exhausted"}, f"{kind}: outcomes {set(outcomes)}"
        assert sent == rungs * n, f"{kind}: expected {rungs * n} sends, saw {sent}"
        server = (await self.counter.settled() - before) / n
        return Phase(seconds, cpu, others["server"], handles, server)


def line(label: str, hand: str, omni: str, ratio: str = "") -> str:
    return f"  {label:<42} {hand:>12} {omni:>12} {ratio:>8}"


def verdict(name: str, value: float) -> str:
    op, bound = TARGETS[name]
    ok = value <= bound if op == "<=" else value >= bound
    return f"  {name} {op} {bound:.2f}x: {value:.2f}x  {'PASS' if ok else 'MISS'}"


async def main(n: int, concurrency: int, rounds: int, sample_size: int, profile: bool) -> None:
    run = Run(
        "engine",
        {"runs": n, "concurrency": concurrency, "rounds": rounds, "sample": sample_size},
    )
    metrics_port = free_port()
    env = await start_dev_server(metrics_port=metrics_port)
    s4, s5 = fast_cart(), fast_cart(second_email=True)
    samples = {k: Sample() for k in KINDS}
    extra = {k: Sample() for k in KINDS}
    big = {k: Sample() for k in KINDS}
    async with env:
        (server,) = children_named("temporal")
        bench = Bench(env.client, ActionCounter(metrics_port), concurrency, server)
        await bench.phase("hand", s4, 5)  # warm-up, not counted: imports, sandbox, caches
        await bench.phase("omni", s4, 5)
        print(
            f"runs per round: {n}, rounds: {rounds} (hand and omni alternating), start "
            f"concurrency: {concurrency}; each run: 1 s, email, 1 s, push, 1 s, telegram, "
            f"1 s, sms; load average at start {run.load_start}"
        )
        for r in range(rounds):
            order = KINDS if r % 2 == 0 else KINDS[::-1]
            figures: dict[str, float] = {"omni_first": float(order[0] == "omni")}
            for kind in order:
                p = await bench.phase(kind, s4, n)
                samples[kind].server_actions.append(p.server_actions)
                await measure(p.handles[:: max(1, n // sample_size)][:sample_size], samples[kind])
                figures |= {
                    f"{kind}_runs_per_s": n / p.seconds,
                    f"{kind}_cpu_ms": p.cpu / n * 1000,
                    f"{kind}_server_cpu_ms": p.server_cpu / n * 1000,
                }
            figures |= {
                "throughput_ratio": figures["omni_runs_per_s"] / figures["hand_runs_per_s"],
                "cpu_ratio": figures["omni_cpu_ms"] / figures["hand_cpu_ms"],
                "server_cpu_ratio": figures["omni_server_cpu_ms"] / figures["hand_server_cpu_ms"],
            }
            run.round(figures)
            print(
                f"round {r + 1} ({order[0]} first): "
                + ",  ".join(
                    f"{k} {figures[f'{k}_runs_per_s']:5.1f} runs/s, CPU "
                    f"{figures[f'{k}_cpu_ms']:4.1f} ms/run (server "
                    f"{figures[f'{k}_server_cpu_ms']:4.1f})"
                    for k in KINDS
                )
                + f";  omni/hand {figures['throughput_ratio']:.2f}, CPU {figures['cpu_ratio']:.2f}"
            )
        for kind in KINDS:
            p = await bench.phase(kind, s5, 5)
            extra[kind].server_actions.append(p.server_actions)
            await measure(p.handles, extra[kind])
            p = await bench.phase(kind, s4, 3, cart_size=100_000)
            big[kind].server_actions.append(p.server_actions)
            await measure(p.handles, big[kind])
        if profile:
            for kind in KINDS:
                with Spy(os.getpid(), RESULTS / f"profile-engine-{kind}.txt") as spy:
                    await bench.phase(kind, s4, n)
                print(f"--profile, {kind} phase of {n} runs, this process:\n{spy.summary()}")
    report(run, samples, extra, big)
    run.save()


def report(
    run: Run, samples: dict[str, Sample], extra: dict[str, Sample], big: dict[str, Sample]
) -> None:
    hand, omni = samples["hand"], samples["omni"]

    def per_round(name: str) -> list[float]:
        return [r[name] for r in run.rounds]

    def shown(values: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in values)

    throughput, cpu = per_round("throughput_ratio"), per_round("cpu_ratio")
    server_cpu = per_round("server_cpu_ratio")
    print(f"throughput omni/hand per round: {shown(throughput)}")
    print(f"CPU per run (this process) omni/hand per round: {shown(cpu)}")
    print(f"CPU per run (dev server) omni/hand per round: {shown(server_cpu)}")
    print(line(f"per run (mean of {len(omni.events)} sampled runs)", "hand", "omni", "omni/hand"))

    def row(label: str, h: float, o: float, fmt: str = ",.0f") -> None:
        ratio = f"{o / h:.2f}" if h else ""
        print(line(label, format(h, fmt), format(o, fmt), ratio))

    row("history events", hand.mean(hand.events), omni.mean(omni.events))
    row("history bytes (describe)", hand.described, omni.described)
    row("history bytes (sum of events)", hand.mean(hand.bytes_summed), omni.mean(omni.bytes_summed))
    names = sorted({k for s in (hand, omni) for p in s.parts for k in p})
    for name in names:
        row(f"  {name}", hand.part(name), omni.part(name))
    row("billable actions (history, rules)", hand.actions_per_run, omni.actions_per_run, ".1f")
    row(
        "  of which before the first wait ends",
        hand.mean(hand.at_start),
        omni.mean(omni.at_start),
        ".1f",
    )
    for kind, sample in samples.items():
        print(f"    {kind}: {sample.actions[0].describe()}")
    row(
        "actions (dev server's action metric)",
        hand.mean(hand.server_actions),
        omni.mean(omni.server_actions),
        ".2f",
    )
    for price in PRICES:
        h = monthly_cost(hand.actions_per_run, MONTHLY_RUNS, price)
        o = monthly_cost(omni.actions_per_run, MONTHLY_RUNS, price)
        row(f"$/month, 10 M runs at ${price}/M actions", h, o)
    rung = {k: extra[k].described - samples[k].described for k in KINDS}
    rung_actions = {k: extra[k].actions_per_run - samples[k].actions_per_run for k in KINDS}
    print("one more rung (a second email rung before sms), per run:")
    row("  history bytes", rung["hand"], rung["omni"])
    row("  billable actions", rung_actions["hand"], rung_actions["omni"], "+.0f")
    size = len(json.dumps(cart("x", size=100_000)))
    print(f"100 KB cart (cart_updated data {size:,} bytes), 4 rungs, per run:")
    row("  history bytes", big["hand"].described, big["omni"].described)
    print(
        f"  history / cart: hand {big['hand'].described / size:.2f}x, "
        f"omni {big['omni'].described / size:.2f}x"
    )
    figures = {
        "throughput_ratio": statistics.median(throughput),
        "cpu_ratio": statistics.median(cpu),
        "server_cpu_ratio": statistics.median(server_cpu),
        "hand_history_bytes": hand.described,
        "omni_history_bytes": omni.described,
        "history_ratio": omni.described / hand.described,
        "hand_rung_bytes": rung["hand"],
        "omni_rung_bytes": rung["omni"],
        "rung_ratio": rung["omni"] / rung["hand"],
        "hand_actions": hand.actions_per_run,
        "omni_actions": omni.actions_per_run,
        "hand_rung_actions": rung_actions["hand"],
        "omni_rung_actions": rung_actions["omni"],
        "hand_server_actions": hand.mean(hand.server_actions),
        "omni_server_actions": omni.mean(omni.server_actions),
        "hand_big_cart_ratio": big["hand"].described / size,
        "omni_big_cart_ratio": big["omni"].described / size,
    }
    figures |= {f"hand_part {k}": hand.part(k) for k in names}
    figures |= {f"omni_part {k}": omni.part(k) for k in names}
    run.set(**figures)
    print("targets (omni against the hand-written ladder, this run):")
    print(verdict("history bytes per run", figures["history_ratio"]))
    print(verdict("history bytes per extra rung", figures["rung_ratio"]))
    print(verdict("CPU per run (client + worker process)", figures["cpu_ratio"]))
    print(verdict("throughput", figures["throughput_ratio"]))
    a, ra = omni.actions_per_run, rung_actions["omni"]
    ok = a <= ACTIONS_MAX and ra <= ACTIONS_PER_RUNG
    verdict_ = "PASS" if ok else "MISS"
    print(
        f"  actions <= {ACTIONS_MAX}, +{ACTIONS_PER_RUNG} per rung: {a:.0f}, {ra:+.0f}  {verdict_}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=None, help="per round (default 300; --memory: 10000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="starts in flight")
    parser.add_argument("--rounds", type=int, default=6, help="even: each kind goes first as often")
    parser.add_argument("--sample", type=int, default=10, help="histories read per round")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy this process during one more round"
    )
    parser.add_argument(
        "--memory", action="store_true", help="runs waiting on a long timer: worker RSS"
    )
    args = parser.parse_args()
    if args.memory:
        from bench.engine_memory import main as memory_main

        with Run("engine_memory", {"runs": args.runs or 10_000}).recording():
            asyncio.run(memory_main(args.runs or 10_000, args.concurrency))
    else:
        asyncio.run(
            main(args.runs or 300, args.concurrency, args.rounds, args.sample, args.profile)
        )
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

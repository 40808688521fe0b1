"""Engine throughput: N abandoned-cart runs through the whole ladder, against a minimal
signal-with-start workflow measured in the same run on the same dev server.

    .venv/bin/python bench/engine.py [--runs 2000] [--concurrency 50]

The scenario is the shipped abandoned_cart with every wait shortened to 1 s, no quiet hours
and no cap, and contacts with all four addresses, so every run sends email, push, Telegram
and SMS (to recording outbox channels) and completes. The worker runs in this process; its
peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from channels.outbox import OutboxChannel  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.activities import Activities  # noqa: E402
from orchestrator.engine.contacts import Contact, InMemoryDirectory  # noqa: E402
from orchestrator.engine.ids import run_key, workflow_id  # noqa: E402
from orchestrator.engine.messages import EventSignal, RunInput, RunOptions, RunState  # noqa: E402
from orchestrator.engine.runtime import build_worker  # noqa: E402
from orchestrator.engine.sendlog import InMemorySendLog  # noqa: E402
from orchestrator.engine.workflow import ScenarioWorkflow  # noqa: E402
from orchestrator.language.loader import load_or_raise, version_of  # noqa: E402
from orchestrator.language.model import CHANNELS, Scenario  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from baseline_workflow import Baseline, Ping  # noqa: E402


def fast_cart() -> Scenario:
    s = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["abandoned_cart"]
    s.quiet_hours, s.frequency_caps = None, []
    s.steps[0].wait_s = 1
    for rung in s.steps[1].rungs:
        rung.wait_s = 1 if rung.wait_s else None
    s.version = version_of(s)
    return s


#: Shaped like a browser's keys (a 65-byte point, a 16-byte secret): contacts check them.
PUSH_KEYS = {
    "p256dh": (
        "BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
    ),
    "auth": "AAECAwQFBgcICQoLDA0ODw",
}


def contact(i: int) -> Contact:
    return Contact.from_json(
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


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bounded(n: int, concurrency: int, job: object) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await job(i)  # type: ignore[operator]

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


async def omni(client: Client, n: int, concurrency: int) -> tuple[float, float, float]:
    scenario = fast_cart()
    outbox = {c: OutboxChannel(c) for c in CHANNELS}
    activities = Activities(
        directory=InMemoryDirectory([contact(i) for i in range(n)]),
        send_log=InMemorySendLog(),
        channels=dict(outbox),
    )
    queue, tag = f"bench-omni-{uuid.uuid4()}", uuid.uuid4().hex[:6]
    handles: list[WorkflowHandle[Any, RunState]] = []
    before = rss_mib()
    async with build_worker(
        client, task_queue=queue, activities=activities, max_concurrent_activities=200
    ):

        async def start(i: int) -> None:
            data = {
                "cart": {
                    "id": f"{tag}-{i}",
                    "total": 42.0,
                    "currency": "EUR",
                    "url": "https://shop.example/cart",
                    "items": [],
                }
            }
            key = run_key(scenario, f"b{i}", data)
            handle = await client.start_workflow(
                ScenarioWorkflow.run,
                RunInput(scenario=scenario, customer_id=f"b{i}", run_key=key, options=RunOptions()),
                id=workflow_id(scenario.id, key),
                task_queue=queue,
                start_signal="event",
                start_signal_args=[EventSignal("cart_updated", f"{tag}-{i}", f"b{i}", data=data)],
            )
            handles.append(handle)

        # Starts are bounded by --concurrency; the runs then sleep and send side by side,
        # as real carts do, so the figure is the engine's capacity, not the waits' length.
        t0 = time.perf_counter()
        await bounded(n, concurrency, start)
        # Result waits are long polls: bound them below the server's concurrent-poller limit.
        waits = asyncio.Semaphore(100)

        async def result(h: WorkflowHandle[Any, RunState]) -> RunState:
            async with waits:
                return await h.result()

        states = await asyncio.gather(*(result(h) for h in handles))
        elapsed = time.perf_counter() - t0
        assert all(s.outcome == "completed" for s in states)
    sent = sum(len(o.sent) for o in outbox.values())
    assert sent == 4 * n, f"expected {4 * n} sends, saw {sent}"
    sample = handles[:: max(1, len(handles) // 20)][:20]
    events = [len((await h.fetch_history()).events) for h in sample]
    return elapsed, sum(events) / len(events), rss_mib() - before


async def baseline(client: Client, n: int, concurrency: int) -> float:
    queue = f"bench-base-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Baseline]):

        async def one(i: int) -> None:
            handle = await client.start_workflow(
                Baseline.run,
                id=f"baseline-{queue}-{i}",
                task_queue=queue,
                start_signal="ping",
                start_signal_args=[Ping(str(i))],
                execution_timeout=timedelta(minutes=10),
            )
            await handle.result()

        return await bounded(n, concurrency, one)


async def main(n: int, concurrency: int) -> None:
    env = await start_dev_server()
    async with env:
        base_s = await baseline(env.client, n, concurrency)
        omni_s, events, rss_delta = await omni(env.client, n, concurrency)
    omni_rate, base_rate = n / omni_s, n / base_s
    print(
        f"runs: {n}, concurrency: {concurrency} (each omni run: 4 sends, 5 timers, "
        "condition evaluations; the baseline: one signal-with-start, no activity)"
    )
    print(
        f"omni abandoned_cart: {omni_rate:7.1f} runs/s  ({omni_s:.1f} s), "
        f"{events:.0f} history events/run, worker peak RSS {rss_mib():.0f} MiB "
        f"(+{rss_delta:.0f} MiB during the omni phase)"
    )
    print(f"baseline signal-with-start: {base_rate:7.1f} runs/s  ({base_s:.1f} s)")
    print(f"ratio omni/baseline: {omni_rate / base_rate:.2f}")
    print("(every omni run also waits 4 s of scenario time, included in its wall time)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.concurrency))
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

"""``bench/engine.py --memory``: N abandoned_cart runs waiting on their first (1 h) timer, and
the worker's memory as they pile up.

The worker runs in a process of its own (so its RSS is the worker's alone), built as
``omni worker`` builds it: ``build_worker`` with its defaults, so ``max_cached_workflows`` is
the configured 1,000. This process starts the runs by signal-with-start and, at checkpoints,
reads the worker's RSS (``/proc/self/status`` VmRSS now and VmHWM, ``ru_maxrss``) and the SDK's
own metrics (sticky cache size, workflow tasks executed); the server says how many runs are
running. Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench.server_metrics import scrape, total  # noqa: E402
from orchestrator.api.serve import free_port  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.activities import Activities  # noqa: E402
from orchestrator.engine.contacts import InMemoryDirectory  # noqa: E402
from orchestrator.engine.messages import EventSignal  # noqa: E402
from orchestrator.engine.router import Router  # noqa: E402
from orchestrator.engine.runtime import build_worker  # noqa: E402
from orchestrator.engine.sendlog import InMemorySendLog  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.language.model import Scenario  # noqa: E402


def memory_now() -> dict[str, int]:
    """This process's resident memory in KiB: now, its high-water mark, and ru_maxrss."""
    status = Path("/proc/self/status").read_text().splitlines()
    fields = {
        k: int(v.split()[0])
        for k, _, v in (s.partition(":") for s in status)
        if k in ("VmRSS", "VmHWM")
    }
    return {
        "rss": fields["VmRSS"],
        "hwm": fields["VmHWM"],
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


async def child(address: str, queue: str, metrics_port: int) -> None:
    """The worker process: answers each line on stdin with its memory as one JSON line."""
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"127.0.0.1:{metrics_port}")
        )
    )
    client = await Client.connect(address, runtime=runtime)
    activities = Activities(
        directory=InMemoryDirectory([]), send_log=InMemorySendLog(), channels={}
    )
    loop = asyncio.get_running_loop()
    async with build_worker(client, task_queue=queue, activities=activities):
        print(json.dumps(memory_now()), flush=True)  # ready
        while await loop.run_in_executor(None, sys.stdin.readline):
            print(json.dumps(memory_now()), flush=True)


class WorkerProcess:
    def __init__(self, address: str, queue: str) -> None:
        self.metrics_port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", address, queue, str(self.metrics_port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def memory(self, first: bool = False) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if not first:
            self.proc.stdin.write("report\n")
            self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def sdk(self) -> tuple[float, float]:
        """(sticky cache size, workflow tasks executed) from the SDK's own metrics."""
        text = scrape(self.metrics_port)
        return (
            total(text, "temporal_sticky_cache_size"),
            total(text, "temporal_workflow_task_execution_latency_count"),
        )

    async def settled(self, started: int) -> tuple[float, float]:
        """Wait until the worker has run every started run's first task and is idle."""
        last, still = -1.0, 0
        while True:
            await asyncio.sleep(1.0)
            cache, tasks = await asyncio.to_thread(self.sdk)
            still = still + 1 if tasks == last else 0
            if tasks >= started and still >= 2:
                return cache, tasks
            last = tasks

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


async def start_runs(
    client: Client, s: Scenario, queue: str, tag: str, indexes: range, concurrency: int
) -> list[WorkflowHandle[Any, Any]]:
    sem = asyncio.Semaphore(concurrency)
    router = Router(client, {s.id: s}, task_queue=queue, record_runs=False)  # as the API starts

    async def one(i: int) -> WorkflowHandle[Any, Any]:
        data = {"cart": {"id": f"{tag}-{i}", "total": 42.0, "currency": "EUR", "items": []}}
        async with sem:
            ev = EventSignal("cart_updated", f"{tag}-{i}", f"m{i}", data=data, stored=True)
            (wid,) = (await router.route(ev)).started_or_signalled
            return client.get_workflow_handle(wid)

    return list(await asyncio.gather(*(one(i) for i in indexes)))


async def waiting_on_a_timer(handle: WorkflowHandle[Any, Any]) -> bool:
    events = (await handle.fetch_history()).events
    kinds = [e.event_type for e in events]
    return EventType.EVENT_TYPE_TIMER_STARTED in kinds and (
        EventType.EVENT_TYPE_TIMER_FIRED not in kinds
    )


async def main(n: int, concurrency: int) -> None:
    scenario = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["abandoned_cart"]
    env = await start_dev_server()
    async with env:
        client = env.client
        address = client.service_client.config.target_host
        queue, tag = f"bench-memory-{uuid.uuid4()}", uuid.uuid4().hex[:8]
        worker = WorkerProcess(address, queue)
        try:
            before = worker.memory(first=True)
            cache, _ = await asyncio.to_thread(worker.sdk)
            print(
                f"abandoned_cart runs waiting on their first timer (wait: 1h); worker in its "
                f"own process, max_cached_workflows 1000 (build_worker's default, as omni "
                f"worker runs it); start concurrency {concurrency}"
            )
            head = ("runs waiting", "cache", "RSS now", "VmHWM", "ru_maxrss", "growth")
            print("{:>12} {:>6} {:>9} {:>9} {:>10} {:>8}  (MiB)".format(*head))
            show(0, cache, before, before)
            handles: list[WorkflowHandle[Any, Any]] = []
            started = 0
            t0 = time.perf_counter()
            for checkpoint in sorted({min(n, c) for c in (n // 10, n // 5, n // 2, n) if c > 0}):
                handles += await start_runs(
                    client, scenario, queue, tag, range(started, checkpoint), concurrency
                )
                started = checkpoint
                cache, _ = await worker.settled(started)
                running = (
                    await client.count_workflows(
                        f'TaskQueue="{queue}" AND ExecutionStatus="Running"'
                    )
                ).count
                show(running, cache, worker.memory(), before)
            elapsed = time.perf_counter() - t0
            sample = handles[:: max(1, len(handles) // 10)][:10]
            ok = sum([await waiting_on_a_timer(h) for h in sample])
            print(
                f"{started} runs started and processed in {elapsed:.0f} s; {ok} of {len(sample)} "
                "sampled histories end waiting on their timer"
            )
        finally:
            worker.stop()


def show(running: int, cache: float, now: dict[str, int], before: dict[str, int]) -> None:
    mib = 1024
    growth = (now["rss"] - before["rss"]) / mib
    print(
        f"{running:>12} {cache:>6.0f} {now['rss'] / mib:>9.1f} {now['hwm'] / mib:>9.1f} "
        f"{now['maxrss'] / mib:>10.1f} {growth:>+8.1f}"
    )


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    address, queue, port = sys.argv[2:5]
    asyncio.run(child(address, queue, int(port)))
    sys.stdout.flush()
    os._exit(0)

"""Event ingestion: the HTTP API against a raw temporalio signal-with-start loop.

    .venv/bin/python bench/ingest.py [--events 5000] [--concurrency 32]

Starts a Temporal dev server and `omni api` (its own process, SQLite store) and posts N
cart_updated events with concurrency C; then, in the same run and against the same server,
starts N runs with the bare signal-with-start call. Prints accepted events/s, p50/p99
latency, the raw rate and the ratio API/raw (target >= 0.8). No worker polls during the
measurement: both sides measure getting events into Temporal, not running the scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.api.keys import ApiKeys  # noqa: E402
from orchestrator.api.serve import free_port  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.ids import run_key, workflow_id  # noqa: E402
from orchestrator.engine.messages import EventSignal, RunInput, RunOptions  # noqa: E402
from orchestrator.engine.workflow import ScenarioWorkflow  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402


def cart(i: int, tag: str) -> dict[str, object]:
    return {
        "cart": {
            "id": f"{tag}-{i}",
            "total": 42.0,
            "currency": "EUR",
            "url": "https://shop.example/cart",
            "items": [],
        }
    }


async def drive(n: int, concurrency: int, one: object) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            await one(i)  # type: ignore[operator]
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


class LeanClient:
    """A minimal keep-alive HTTP/1.1 client for the load generator: httpx's CPU cost would
    otherwise be taken from the Temporal server on this 2-core machine and bias the ratio."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: dict[str, object]) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        payload = json.dumps(body).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await reader.readexactly(length)

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            await self.streams[1].wait_closed()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main(n: int, concurrency: int, batch: int) -> None:
    scenarios = load_or_raise([ROOT / "scenarios"], ROOT / "templates")
    scenario = scenarios["abandoned_cart"]
    tmp = Path(tempfile.mkdtemp(prefix="omni-ingest-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'omni.db'}"
    await upgrade_async(db_url)
    engine = make_engine(db_url)
    key = await ApiKeys(sessions(engine)).create("bench")
    await engine.dispose()
    env = await start_dev_server()
    async with env:
        address = env.client.service_client.config.target_host
        port = free_port()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "omni"), "api"],
            cwd=ROOT,
            env={
                **os.environ,
                "OMNI_TEMPORAL_ADDRESS": address,
                "DATABASE_URL": db_url,
                "OMNI_API_PORT": str(port),
                "OMNI_TASK_QUEUE": "bench-ingest",
            },
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            async with httpx.AsyncClient(
                base_url=base, limits=limits, timeout=60, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                for _ in range(100):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                tag = uuid.uuid4().hex[:6]

                def one(i: int) -> dict[str, object]:
                    return {
                        "name": "cart_updated",
                        "customer_id": f"api-{tag}-{i}",
                        "event_id": f"api-{tag}-{i}",
                        "data": cart(i, f"api{tag}"),
                    }

                clients = [LeanClient("127.0.0.1", port, key) for _ in range(concurrency)]
                free: asyncio.Queue[LeanClient] = asyncio.Queue()
                for c in clients:
                    free.put_nowait(c)

                async def post(i: int) -> None:
                    body: dict[str, object] = (
                        one(i)
                        if batch == 1
                        else {"events": [one(i * batch + j) for j in range(batch)]}
                    )
                    client = await free.get()
                    try:
                        status, text = await client.post("/v1/events", body)
                    finally:
                        free.put_nowait(client)
                    assert status == 202, text
                    assert all(x["status"] == "accepted" for x in json.loads(text)["results"])

                await post(-1)  # warm up
                api_s, api_lat = await drive(n // batch, concurrency, post)
                for c in clients:
                    await c.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        client = await Client.connect(address)

        async def raw(i: int) -> None:
            data = cart(i, f"raw{tag}")
            key_ = run_key(scenario, f"raw-{i}", data)
            await client.start_workflow(
                ScenarioWorkflow.run,
                RunInput(
                    scenario=scenario, customer_id=f"raw-{i}", run_key=key_, options=RunOptions()
                ),
                id=workflow_id(scenario.id, key_),
                task_queue="bench-raw",
                start_signal="event",
                start_signal_args=[EventSignal("cart_updated", f"raw-{i}", f"raw-{i}", data=data)],
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )

        # Same number of events in flight on both sides: concurrency x events per request.
        raw_s, raw_lat = await drive(n, concurrency * batch, raw)
    raw_rate = n / raw_s
    api_rate = (n // batch) * batch / api_s
    print(f"events: {n}, concurrency: {concurrency}, events per request: {batch}")
    print(
        f"API  (POST /v1/events): {api_rate:8.1f} events/s  p50 {pct(api_lat, 50):6.1f} ms  "
        f"p99 {pct(api_lat, 99):6.1f} ms  (per request)"
    )
    print(
        f"raw  (signal-with-start, {concurrency * batch} in flight): {raw_rate:6.1f} events/s  "
        f"p50 {pct(raw_lat, 50):6.1f} ms  "
        f"p99 {pct(raw_lat, 99):6.1f} ms"
    )
    print(f"ratio API/raw: {api_rate / raw_rate:.2f}  (target >= 0.80)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.concurrency, args.batch))
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

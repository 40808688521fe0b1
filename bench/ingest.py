"""Event ingestion: the HTTP API against a raw temporalio signal-with-start loop.

    .venv/bin/python bench/ingest.py [--events 5000] [--concurrency 32]

Starts a Temporal dev server and `omni api` (its own process, SQLite store); then, in rounds
against the same server, each in a rotating order, three sides start as many runs each:
  API   posts cart_updated events with concurrency C (stored, claimed, routed, marked);
  same  sends the very signal-with-start request Omni's router builds for such an event
        (input, search attributes, summary and details), straight to Temporal;
  bare  sends a bare signal-with-start (no search attributes, summary or details).
With --split, two more sides show which part of the start request costs the server:
  attributes  the same request without summary and details (search attributes only);
  metadata    the same request without search attributes (summary and details only).
Prints each round, events/s, p50/p99 latency and the ratios; the target (>= 0.9) is API/same:
what Omni's HTTP API and its outbox add to the Temporal call it makes. No worker polls during
the measurement: every side measures getting events into Temporal, not running the scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
from orchestrator.engine.router import Router, StartRequest  # noqa: E402
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
            self.streams = None


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


@dataclass
class Side:
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)  # each round's rate against the bare call's

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def add(self, events: int, seconds: float, latencies: list[float]) -> float:
        self.events += events
        self.seconds += seconds
        self.latencies += latencies
        return events / seconds


Call = Callable[[int], Awaitable[None]]


async def main(
    n: int, concurrency: int, batch: int, rounds: int, contact: bool, split: bool
) -> None:
    scenarios = load_or_raise([ROOT / "scenarios"], ROOT / "templates")
    scenario = scenarios["abandoned_cart"]
    tmp = Path(tempfile.mkdtemp(prefix="omni-ingest-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'omni.db'}"
    await upgrade_async(db_url)
    engine = make_engine(db_url)
    key = await ApiKeys(sessions(engine)).create("bench", scopes=["ingest", "read"])
    await engine.dispose()
    per_round = n // rounds // batch * batch
    names = ["API", "same", "bare"] + (["attributes", "metadata"] if split else [])
    sides = {name: Side() for name in names}
    ratios: list[float] = []
    env = await start_dev_server()
    async with env:
        address = env.client.service_client.config.target_host
        client = await Client.connect(address)
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
        clients = [LeanClient("127.0.0.1", port, key) for _ in range(concurrency)]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(100):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            tag = uuid.uuid4().hex[:6]
            free: asyncio.Queue[LeanClient] = asyncio.Queue()
            for c in clients:
                free.put_nowait(c)

            def one(i: int) -> dict[str, object]:
                event: dict[str, object] = {
                    "name": "cart_updated",
                    "customer_id": f"api-{tag}-{i}",
                    "event_id": f"api-{tag}-{i}",
                    "data": cart(i, f"api{tag}"),
                }
                if contact:  # the shop sends the profile along: one upsert per event
                    event["contact"] = {
                        "email": f"api-{tag}-{i}@example.com",
                        "first_name": "Ann",
                        "consents": {"email": True},
                    }
                return event

            async def post(i: int) -> None:
                body: dict[str, object] = (
                    one(i) if batch == 1 else {"events": [one(i * batch + j) for j in range(batch)]}
                )
                client_ = await free.get()
                try:
                    status, text = await client_.post("/v1/events", body)
                finally:
                    free.put_nowait(client_)
                assert status == 202, text
                assert all(x["status"] == "accepted" for x in json.loads(text)["results"])

            router = Router(
                client, {scenario.id: scenario}, task_queue="bench-raw", record_runs=False
            )

            def request(side: str, i: int) -> StartRequest:
                # The request Omni's router sends for this event.
                data = cart(i, f"{side}{tag}")
                who = f"{side}-{tag}-{i}"
                event = EventSignal("cart_updated", who, who, data=data, stored=True)
                return router.start_request(scenario, run_key(scenario, who, data), event)

            async def same(i: int) -> None:
                await request("same", i).send(client)

            async def attributes(i: int) -> None:
                await dataclasses.replace(request("attr", i), summary=None, details=None).send(
                    client
                )

            async def metadata(i: int) -> None:
                await dataclasses.replace(request("meta", i), search_attributes=None).send(client)

            async def bare(i: int) -> None:
                # The bare call: no search attributes, summary or details.
                data = cart(i, f"bare{tag}")
                who = f"bare-{tag}-{i}"
                key_ = run_key(scenario, who, data)
                await client.start_workflow(
                    ScenarioWorkflow.run,
                    RunInput(
                        scenario=scenario, customer_id=who, run_key=key_, options=RunOptions()
                    ),
                    id=workflow_id(scenario.id, key_),
                    task_queue="bench-raw",
                    start_signal="event",
                    start_signal_args=[EventSignal("cart_updated", who, who, data=data)],
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )

            calls: dict[str, Call] = {"same": same, "bare": bare}
            if split:
                calls |= {"attributes": attributes, "metadata": metadata}
            await post(-1)  # warm up every side
            for call in calls.values():
                await call(-1)

            async def api_round(offset: int) -> float:
                for c in clients:  # the server closed them while the other sides ran
                    await c.close()
                s, lat = await drive(
                    per_round // batch, concurrency, lambda i: post(offset // batch + i)
                )
                return sides["API"].add(per_round, s, lat)

            def direct_round(name: str, call: Call) -> Callable[[int], Awaitable[float]]:
                async def round_(offset: int) -> float:
                    # Same number of events in flight: concurrency x events per request.
                    s, lat = await drive(per_round, concurrency * batch, lambda i: call(offset + i))
                    return sides[name].add(per_round, s, lat)

                return round_

            order = [("API", api_round)] + [
                (name, direct_round(name, call)) for name, call in calls.items()
            ]
            for r in range(rounds):
                # Rotating order: no side always meets the server's larger history.
                rates: dict[str, float] = {}
                turn = r % len(order)
                for name, run_round in order[turn:] + order[:turn]:
                    rates[name] = await run_round(r * per_round)
                for name in calls:
                    sides[name].ratios.append(rates[name] / rates["bare"])
                ratios.append(rates["API"] / rates["same"])
                print(
                    f"round {r + 1}: API {rates['API']:6.1f}/s  same request "
                    f"{rates['same']:6.1f}/s  bare {rates['bare']:6.1f}/s  "
                    f"API/same {rates['API'] / rates['same']:.2f}  "
                    f"API/bare {rates['API'] / rates['bare']:.2f}"
                )
        finally:
            for c in clients:
                await c.close()
            proc.terminate()
            proc.wait(timeout=10)
    api, direct, plain = sides["API"], sides["same"], sides["bare"]
    print(
        f"events: {n} per side in {rounds} rounds, concurrency: {concurrency}, "
        f"events per request: {batch}, contact fields: {'yes' if contact else 'no'}"
    )
    print(
        f"API   (POST /v1/events):          {api.rate:6.1f} events/s  "
        f"p50 {pct(api.latencies, 50):6.1f} ms  p99 {pct(api.latencies, 99):6.1f} ms  (per request)"
    )
    in_flight = concurrency * batch
    for label, side in (("same request", direct), ("bare call", plain)):
        print(
            f"raw   ({label}, {in_flight} in flight): {side.rate:6.1f} events/s  "
            f"p50 {pct(side.latencies, 50):6.1f} ms  p99 {pct(side.latencies, 99):6.1f} ms"
        )
    print(
        f"ratio API/raw (same request): {api.rate / direct.rate:.2f} overall, "
        f"median of rounds {statistics.median(ratios):.2f}  (target >= 0.90)"
    )
    print(
        f"ratio API/raw (bare call):    {api.rate / plain.rate:.2f}  (the search attributes "
        "Omni sets at start cost the server the rest; --split shows it)"
    )
    if split:
        for name, label in (
            ("same", "the whole request"),
            ("attributes", "search attributes only"),
            ("metadata", "summary and details only"),
        ):
            print(
                f"start request against the bare call, median of rounds: {label}: "
                f"{statistics.median(sides[name].ratios):.2f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    parser.add_argument("--rounds", type=int, default=9, help="rounds, each side once per round")
    parser.add_argument("--contact", action="store_true", help="events carry contact fields")
    parser.add_argument(
        "--split", action="store_true", help="also time the start request's parts on their own"
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.events, args.concurrency, args.batch, args.rounds, args.contact, args.split)
    )
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

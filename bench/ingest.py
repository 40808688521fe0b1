"""Ingestion: the HTTP API against the very start request it makes, sent straight to Temporal.

    .venv/bin/python bench/ingest.py [--events 6000] [--concurrency 32] [--rounds 9]
                                     [--contact] [--split] [--profile]

Starts a Temporal dev server and ``omni api`` (its own process, SQLite store); then, in rounds
against the same server, each round in a rotated order, each side starts as many runs:

  API   ``POST /v1/events`` (cart_updated), C requests in flight: the event stored with its
        claim (the outbox), routed, marked delivered;
  same  the byte-identical request the API's router sends for such an event: the same
        signal-with-start built by ``Router.start_request`` (input, start signal, search
        attributes, summary, details, ``USE_EXISTING``), through a client with the same data
        converter as ``omni api`` (Omni's compact JSON, no codec), C in flight;
  lean  what an engineer would send minimally: a signal-with-start of the hand-written
        ladder (bench/hand_ladder.py: the customer and scenario version as input, the event
        as start signal; no search attributes, summary or details), the same converter.

Before the rounds the bench checks that the ``same`` side is byte-identical: it reads the
start event of one run started through the API and one started directly and compares their
input, start signal, search attributes and user metadata (with the ids, which differ only by
side, put back). With ``--split`` two more sides show which part of the request costs the
server: ``attributes`` (without summary and details), ``metadata`` (without search
attributes).

Per round: each side's events/s, and the API process's CPU per event (``/proc``). Printed:
the rates, p50/p99 latency, the ratios API/same (target >= 0.9, the median of the rounds)
and API/lean, the API's CPU per event (target <= 2.5 ms). ``--profile`` runs one more API
round under py-spy and prints where the API process's time goes. No worker polls: every side
measures getting events into Temporal, not running the scenarios. Every round is appended to
bench/results/ingest.jsonl.
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
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hand_ladder import Cart, HandLadder, LadderInput  # noqa: E402
from bench.profiling import Spy  # noqa: E402
from bench.runlog import RESULTS, Run, cpu_of  # noqa: E402
from orchestrator.api.keys import ApiKeys  # noqa: E402
from orchestrator.api.serve import free_port  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.codec import data_converter  # noqa: E402
from orchestrator.engine.ids import run_key, workflow_id  # noqa: E402
from orchestrator.engine.messages import EventSignal  # noqa: E402
from orchestrator.engine.router import Router, StartRequest  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402

API_CPU_MAX_MS, RATIO_MIN = 2.5, 0.9


def cart(cart_id: str) -> dict[str, object]:
    return {
        "cart": {
            "id": cart_id,
            "total": 42.0,
            "currency": "EUR",
            "url": "https://shop.example/cart",
            "items": [],
        }
    }


def who(side: str, tag: str, i: int) -> str:
    """The customer, event and cart id of event ``i`` of a side: as long on every side."""
    return f"{side[:3]}-{tag}-{i}"


async def drive(
    n: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            await one(i)
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
        reused = self.streams is not None
        try:
            return await self._post(path, body)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            # The server closed the idle keep-alive connection before it read the request
            # (nothing came back): send it again on a new one, as HTTP clients do.
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            await self.close()
            return await self._post(path, body)

    async def _post(self, path: str, body: dict[str, object]) -> tuple[int, bytes]:
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


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


@dataclass
class Side:
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def add(self, events: int, seconds: float, latencies: list[float]) -> float:
        self.events += events
        self.seconds += seconds
        self.latencies += latencies
        return events / seconds


async def start_event(client: Client, wid: str) -> tuple[HistoryEvent, HistoryEvent]:
    events = (await client.get_workflow_handle(wid).fetch_history()).events
    assert events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert events[1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return events[0], events[1]


def request_bytes(started: HistoryEvent, signalled: HistoryEvent) -> dict[str, bytes]:
    """The parts of a start request the history keeps, serialized."""
    a = started.workflow_execution_started_event_attributes
    return {
        "input": a.input.SerializeToString(),
        "signal": signalled.workflow_execution_signaled_event_attributes.input.SerializeToString(),
        "search attributes": a.search_attributes.SerializeToString(deterministic=True),
        "summary and details": started.user_metadata.SerializeToString(),
        "workflow type": a.workflow_type.SerializeToString(),
        "task queue": a.task_queue.name.encode(),
    }


async def main(
    n: int, concurrency: int, rounds: int, contact: bool, split: bool, profile: bool
) -> None:
    run = Run(
        "ingest",
        {
            "events": n,
            "concurrency": concurrency,
            "rounds": rounds,
            "contact": contact,
            "split": split,
        },
    )
    scenario = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["abandoned_cart"]
    tmp = Path(tempfile.mkdtemp(prefix="omni-ingest-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'omni.db'}"
    await upgrade_async(db_url)
    engine = make_engine(db_url)
    key = await ApiKeys(sessions(engine)).create("bench", scopes=["ingest", "read"])
    await engine.dispose()
    per_round = n // rounds
    names = ["API", "same", "lean"] + (["attributes", "metadata"] if split else [])
    sides = {name: Side() for name in names}
    env = await start_dev_server()
    async with env:
        address = env.client.service_client.config.target_host
        # What `omni api` connects with when no codec is configured (worker.connect).
        client = await Client.connect(address, data_converter=data_converter(None))
        port = free_port()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "omni"), "api"],
            cwd=ROOT,
            env={
                **os.environ,
                "OMNI_TEMPORAL_ADDRESS": address,
                "DATABASE_URL": db_url,
                "OMNI_API_PORT": str(port),
                "OMNI_TASK_QUEUE": "omni",
            },
            stderr=subprocess.DEVNULL,
        )
        clients = [LeanClient("127.0.0.1", port, key) for _ in range(concurrency)]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(200):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            tag = uuid.uuid4().hex[:6]
            free: asyncio.Queue[LeanClient] = asyncio.Queue()
            for c in clients:
                free.put_nowait(c)

            def body(i: int) -> dict[str, object]:
                ident = who("API", tag, i)
                event: dict[str, object] = {
                    "name": "cart_updated",
                    "customer_id": ident,
                    "event_id": ident,
                    "data": cart(ident),
                }
                if contact:  # the shop sends the profile along: one upsert per event
                    event["contact"] = {
                        "email": f"{ident}@example.com",
                        "first_name": "Ann",
                        "consents": {"email": True},
                    }
                return event

            async def post(i: int) -> None:
                c = await free.get()
                try:
                    status, text = await c.post("/v1/events", body(i))
                finally:
                    free.put_nowait(c)
                assert status == 202, text
                assert all(x["status"] == "accepted" for x in json.loads(text)["results"])

            # The API's own router as `omni api` builds it (worker.build_services): the
            # loaded scenarios, the task queue, default run options.
            router = Router(client, {scenario.id: scenario}, task_queue="omni", record_runs=False)

            def request(side: str, i: int) -> StartRequest:
                ident = who(side, tag, i)
                event = EventSignal("cart_updated", ident, ident, data=cart(ident), stored=True)
                return router.start_request(scenario, run_key(scenario, ident, event.data), event)

            async def same(i: int) -> None:
                await request("same", i).send(client)

            async def attributes(i: int) -> None:
                r = dataclasses.replace(request("attributes", i), summary=None, details=None)
                await r.send(client)

            async def metadata(i: int) -> None:
                await dataclasses.replace(request("metadata", i), search_attributes=None).send(
                    client
                )

            async def lean(i: int) -> None:
                ident = who("lean", tag, i)
                data = cart(ident)
                await client.start_workflow(
                    HandLadder.run,
                    LadderInput(customer_id=ident, version=scenario.version),
                    id=workflow_id(scenario.id, run_key(scenario, ident, data)),
                    task_queue="omni",
                    start_signal="cart_updated",
                    start_signal_args=[Cart(ident, data)],
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )

            calls: dict[str, Callable[[int], Awaitable[None]]] = {"same": same, "lean": lean}
            if split:
                calls |= {"attributes": attributes, "metadata": metadata}
            await post(-1)  # warm up every side
            for call in calls.values():
                await call(-1)
            identical = await check_identical(client, scenario.id, tag, router)
            print(f"the 'same' side's start request against the API's: {identical}")
            run.notes["same_request"] = identical

            api_pid = proc.pid

            async def api_round(offset: int) -> tuple[float, float]:
                for c in clients:  # the server closed them while the other sides ran
                    await c.close()
                cpu0 = cpu_of(api_pid)
                s, lat = await drive(per_round, concurrency, lambda i: post(offset + i))
                return sides["API"].add(per_round, s, lat), (cpu_of(api_pid) - cpu0) / per_round

            def direct_round(
                name: str, call: Callable[[int], Awaitable[None]]
            ) -> Callable[[int], Awaitable[float]]:
                async def round_(offset: int) -> float:
                    s, lat = await drive(per_round, concurrency, lambda i: call(offset + i))
                    return sides[name].add(per_round, s, lat)

                return round_

            order = ["API", *calls]
            for r in range(rounds):
                # Rotating order: no side always meets the server's larger history.
                turn = r % len(order)
                rates: dict[str, float] = {}
                api_cpu = 0.0
                for name in order[turn:] + order[:turn]:
                    if name == "API":
                        rates[name], api_cpu = await api_round(r * per_round)
                    else:
                        rates[name] = await direct_round(name, calls[name])(r * per_round)
                figures = {f"{k}_per_s": v for k, v in rates.items()}
                figures |= {
                    "first": float(turn),
                    "api_same_ratio": rates["API"] / rates["same"],
                    "api_lean_ratio": rates["API"] / rates["lean"],
                    "same_lean_ratio": rates["same"] / rates["lean"],
                    "api_cpu_ms": api_cpu * 1000,
                }
                run.round(figures)
                print(
                    f"round {r + 1} ({order[turn]} first): "
                    + "  ".join(f"{k} {v:6.1f}/s" for k, v in rates.items())
                    + f"  API/same {figures['api_same_ratio']:.2f}  API/lean "
                    f"{figures['api_lean_ratio']:.2f}  API CPU {api_cpu * 1000:.2f} ms/event"
                )
            if profile:
                out = RESULTS / "profile-api.txt"
                with Spy(api_pid, out) as spy:
                    await api_round(rounds * per_round)
                print(f"--profile: one more API round of {per_round} events, the API process:")
                print(spy.summary())
                shares = spy.inclusive(
                    {
                        "the event route (post_events)": "post_events (orchestrator/api/events.py",
                        "routing to Temporal (Router.route)": "Router.route (",
                        "the Temporal client call": "WorkflowService",
                        "the store (claim_routed, delivered)": "orchestrator/store/",
                        "HTTP server (uvicorn, h11/httptools)": "uvicorn/",
                        "FastAPI and Starlette": "starlette/",
                        "request validation (pydantic)": "pydantic",
                    }
                )
                print("share of samples under:")
                for label, share in shares.items():
                    print(f"  {share:6.1%}  {label}")
        finally:
            for c in clients:
                await c.close()
            proc.terminate()
            proc.wait(timeout=10)
    report(run, sides, n, concurrency, contact, split)
    run.save()


async def check_identical(client: Client, scenario_id: str, tag: str, router: Router) -> str:
    """Compare the warm-up runs' start requests (event -1 of each side): the API's and the
    'same' side's, their ids put in the same form."""
    scenario = router.scenarios[scenario_id]
    found = {}
    for side in ("API", "same"):
        ident = who(side, tag, -1)
        wid = workflow_id(scenario.id, run_key(scenario, ident, cart(ident)))
        found[side] = request_bytes(*await start_event(client, wid))
    api_id, same_id = who("API", tag, -1).encode(), who("same", tag, -1).encode()
    differ = [
        part
        for part, raw in found["API"].items()
        if raw.replace(api_id, same_id) != found["same"][part]
    ]
    sizes = ", ".join(f"{part} {len(raw)} B" for part, raw in found["API"].items())
    return f"different in {', '.join(differ)} ({sizes})" if differ else f"byte-identical ({sizes})"


def report(
    run: Run, sides: dict[str, Side], n: int, concurrency: int, contact: bool, split: bool
) -> None:
    api, same, lean = sides["API"], sides["same"], sides["lean"]
    rounds = run.rounds
    ratio = statistics.median(r["api_same_ratio"] for r in rounds)
    lean_ratio = statistics.median(r["api_lean_ratio"] for r in rounds)
    cpu = statistics.median(r["api_cpu_ms"] for r in rounds)
    print(
        f"events: {n} per side in {len(rounds)} rounds, {concurrency} in flight per side, "
        f"contact fields: {'yes' if contact else 'no'}"
    )
    for label, side in (
        ("API (POST /v1/events)", api),
        ("same request, straight to Temporal", same),
        ("lean start (hand-written ladder)", lean),
    ):
        print(
            f"  {label:<36} {side.rate:6.1f} events/s  p50 {pct(side.latencies, 50):6.1f} ms  "
            f"p99 {pct(side.latencies, 99):6.1f} ms"
        )
    per_round = ", ".join(f"{r['api_same_ratio']:.2f}" for r in rounds)
    print(f"API/same per round: {per_round}")
    print(
        f"API/same, median of rounds: {ratio:.2f} (target >= {RATIO_MIN}: "
        f"{'PASS' if ratio >= RATIO_MIN else 'MISS'}); API/lean {lean_ratio:.2f}; "
        f"same/lean {statistics.median(r['same_lean_ratio'] for r in rounds):.2f}"
    )
    print(
        f"API process CPU per event, median of rounds: {cpu:.2f} ms (target <= {API_CPU_MAX_MS}: "
        f"{'PASS' if cpu <= API_CPU_MAX_MS else 'MISS'}); rounds "
        + ", ".join(f"{r['api_cpu_ms']:.2f}" for r in rounds)
    )
    figures: dict[str, float] = {
        "api_same_ratio": ratio,
        "api_lean_ratio": lean_ratio,
        "api_cpu_ms": cpu,
        "api_per_s": api.rate,
        "same_per_s": same.rate,
        "lean_per_s": lean.rate,
        "api_p50_ms": pct(api.latencies, 50),
        "api_p99_ms": pct(api.latencies, 99),
        "same_p50_ms": pct(same.latencies, 50),
        "same_p99_ms": pct(same.latencies, 99),
    }
    if split:
        for name in ("attributes", "metadata"):
            figures[f"{name}_lean_ratio"] = statistics.median(
                r[f"{name}_per_s"] / r["lean_per_s"] for r in rounds
            )
            print(f"  {name} only / lean, median of rounds: {figures[f'{name}_lean_ratio']:.2f}")
    run.set(**figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=6000, help="per side, over all rounds")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=9, help="rounds, each side once per round")
    parser.add_argument("--contact", action="store_true", help="events carry contact fields")
    parser.add_argument(
        "--split", action="store_true", help="also time the start request's parts on their own"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the API process during one more round"
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.events, args.concurrency, args.rounds, args.contact, args.split, args.profile)
    )
    # The Temporal core's threads can abort interpreter finalisation; the figures are out.
    sys.stdout.flush()
    os._exit(0)

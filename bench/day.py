"""A shop's day, replayed: every shipped scenario on, PostgreSQL, the API and workers as
processes, the four providers' local peers, on a scaled-down clock.

    .venv/bin/python bench/day.py [DATABASE_URL] [--scale 0.01] [--rate 100] [--workers 1]
        [--clock N] [--drain S] [--temporal-db FILE] [--seed 7] [--keep]

``--scale 1`` is the full day: 100,000 customers and about 1,000,000 events (hours, a dev
server persisted to ``--temporal-db`` for its memory, and about 1 GB for this process's plan
of the day); ``--scale 0.01`` (the default), 1,000 customers and about 10,000 events, takes
a few minutes. The events come from
bench/day_mix.py (visits with product views, carts updated in bursts, orders racing the
reminders, sign-ups, webinars, price-drop sales, 5% of events sent twice). The clock: the
day's events are posted over ``86,400 / clock`` seconds, and every duration in the scenarios
(waits, timeouts, windows, caps) is divided by the same clock; ``--rate`` (events a second)
sets the clock when ``--clock`` is not given. Quiet hours are off (a compressed day has no
local night). While the day runs, the bench reacts to what arrives at the peers as customers
do: opens (30% of emails), clicks (8%), one-click unsubscribes (0.5%), Telegram replies (5%).

DATABASE_URL defaults to OMNI_TEST_POSTGRES_URL or postgresql+asyncpg://postgres@127.0.0.1:5432/test;
the bench works in a schema of its own (``day_<random>``), dropped at the end (``--keep``
keeps it and prints its name), so it never touches the tests' tables.

Printed, and appended to bench/results/day.jsonl: sustained events/s (events posted over
the posting time) and how late posting ran behind the schedule, API latency p50/p99, the
answers (accepted, duplicate), runs per scenario and per customer (Temporal's visibility),
messages per customer and channel at the peers against the send log's ``sent`` rows (each
message exactly once: none twice, none missing), the database size per customer and per
message, the workers' and the API's peak RSS and CPU per event, and the console's funnel and
customer pages timed at that size (median of 5; target <= 1 s each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from peers.push_service import PushService  # noqa: E402

from bench import day_mix as mix  # noqa: E402
from bench.day_peers import CHANNELS, TG_SECRET, Peers, Reactions  # noqa: E402
from bench.ingest import LeanClient, pct  # noqa: E402
from bench.profiling import Spy  # noqa: E402
from bench.runlog import RESULTS, Run, children_named, cpu_of, rss_mib  # noqa: E402
from bench.scale import api_up, spawn, stop  # noqa: E402
from bench.server_metrics import ActionCounter  # noqa: E402
from channels.vapid import generate_vapid_keys  # noqa: E402
from orchestrator.api.keys import ApiKeys  # noqa: E402
from orchestrator.api.serve import free_port, serving  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.runtime import queue_pollers  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PASSWORD = "day-console-password-0123456789"
PAGE_TARGET_S = 1.0


@asynccontextmanager
async def pg_schema(base_url: str, *, keep: bool) -> AsyncIterator[str]:
    """A fresh, migrated schema of its own on ``base_url`` (the tests' tables are elsewhere);
    dropped afterwards unless ``keep``."""
    schema = f"day_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}{'&' if '?' in base_url else '?'}search_path={schema}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        if keep:
            print(f"kept the schema {schema}: {url}")
        else:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def write_scenarios(folder: Path, clock: float) -> None:
    (folder / "scenarios").mkdir(parents=True)
    for source in sorted((ROOT / "scenarios").glob("*.yaml")):
        doc = mix.scaled_scenario(yaml.safe_load(source.read_text(encoding="utf-8")), clock)
        (folder / "scenarios" / source.name).write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    shutil.copytree(ROOT / "templates", folder / "templates")
    load_or_raise([folder / "scenarios"], folder / "templates")  # every scenario still valid


@dataclass
class Posting:
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    late: float = 0.0  # the most a post started after its planned moment, seconds
    first: float = 0.0
    last: float = 0.0


async def post_day(
    plan: list[mix.Planned],
    people: dict[str, mix.Customer],
    push: PushService,
    port: int,
    key: str,
    clock: float,
    concurrency: int,
) -> Posting:
    """Post every planned event at its moment (shop time / clock), a customer's events in
    order, at most ``concurrency`` requests in flight."""
    out = Posting()
    pool: asyncio.Queue[LeanClient] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(LeanClient("127.0.0.1", port, key))
    last_of: dict[str, asyncio.Task[None]] = {}
    introduced: set[str] = set()
    start = time.perf_counter()
    day_start = datetime.now(UTC)

    async def one(p: mix.Planned, before: asyncio.Task[None] | None, body: dict[str, Any]) -> None:
        if before is not None:
            await before
        c = await pool.get()
        try:
            t0 = time.perf_counter()
            out.late = max(out.late, t0 - start - p.at / clock)
            status, answer = await c.post("/v1/events", body)
            out.latencies.append(time.perf_counter() - t0)
        finally:
            pool.put_nowait(c)
        out.last = time.perf_counter() - start
        if status != 202:
            out.answers[f"http {status}"] += 1
            return
        for r in json.loads(answer)["results"]:
            out.answers[r["status"]] += 1

    for p in plan:
        wait = p.at / clock - (time.perf_counter() - start)
        if wait > 0:
            await asyncio.sleep(wait)
        body = dict(p.body)
        if p.starts_in:
            starts = day_start + timedelta(seconds=p.starts_in / clock)
            body["data"] = {
                **body["data"],
                "webinar": {**body["data"]["webinar"], "starts_at": starts.isoformat()},
            }
        if p.customer not in introduced and not p.repeat:
            introduced.add(p.customer)
            c = people[p.customer]
            body["contact"] = mix.contact_fields(c, push.subscribe(c.device) if c.device else None)
        last_of[p.customer] = asyncio.create_task(one(p, last_of.get(p.customer), body))
    await asyncio.gather(*last_of.values())
    for _ in range(concurrency):
        await (await pool.get()).close()
    return out


async def sent_by_log(url: str) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Per (customer, channel): messages the send log records sent, and those in doubt (a
    worker stopped between the handover and the provider's answer: the peer may have them)."""
    engine = make_engine(url)
    sent: Counter[tuple[str, str]] = Counter()
    doubt: Counter[tuple[str, str]] = Counter()
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT customer_id, channel, status, count(*) FROM send_log "
                    "WHERE status IN ('sent', 'sending', 'uncertain') "
                    "GROUP BY customer_id, channel, status"
                )
            )
            for who, channel, status, n in rows:
                (sent if status == "sent" else doubt)[(who, channel)] += int(n)
    finally:
        await engine.dispose()
    return sent, doubt


async def database_size(url: str) -> tuple[int, dict[str, int]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT tablename, pg_total_relation_size(format('%I.%I', schemaname, "
                    "tablename)) FROM pg_tables WHERE schemaname = current_schema()"
                )
            )
            sizes = {r[0]: int(r[1]) for r in rows}
    finally:
        await engine.dispose()
    return sum(sizes.values()), sizes


async def console_pages(base: str, customer: str, scenario: str) -> tuple[float, float]:
    """Median seconds of 5 views of the scenario's funnel page and of a customer's page."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        form = await http.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, form.text[:300]
        done = await http.post(
            "/console/login",
            data={"csrf": csrf.group(1), "secret": PASSWORD},
            headers={"Origin": base},
        )
        assert done.status_code == 303, done.text[:300]
        listing = await http.get("/console/customers")
        csrf = re.search(r'name="csrf" value="([^"]+)"', listing.text)
        assert csrf is not None
        found = await http.post(
            "/console/customers",
            data={"csrf": csrf.group(1), "q": customer},
            headers={"Origin": base},
        )
        assert found.status_code == 303, found.text[:300]
        profile = found.headers["location"]

        async def timed(path: str) -> float:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                answer = await http.get(path)
                times.append(time.perf_counter() - t0)
                assert answer.status_code == 200, (path, answer.status_code)
            return statistics.median(times)

        return await timed(f"/console/scenarios/{scenario}"), await timed(profile)


async def main(args: argparse.Namespace) -> None:
    people_list = mix.customers(round(100_000 * args.scale), args.seed)
    people = {c.id: c for c in people_list}
    plan = mix.shop_day(people_list, args.seed)
    clock = args.clock or mix.DAY * args.rate / len(plan)
    day_s = mix.DAY / clock
    run = Run(
        "day",
        {
            "scale": args.scale,
            "customers": len(people),
            "events": len(plan),
            "clock": round(clock, 3),
            "workers": args.workers,
            "concurrency": args.concurrency,
            "seed": args.seed,
        },
    )
    print(
        f"{len(people):,} customers, {len(plan):,} events "
        f"({dict(Counter(p.body['name'] for p in plan).most_common())}); clock x{clock:,.1f}: "
        f"the day in {day_s:,.0f} s, 1 h of the shop's time in {3600 / clock:,.1f} s; "
        f"{args.workers} worker(s); load {run.load_start}"
    )
    folder = Path(tempfile.mkdtemp(prefix="omni-day-"))
    write_scenarios(folder, clock)
    peers = Peers()
    for c in people_list:
        peers.know(c)
    metrics_port = free_port()
    env = await start_dev_server(
        db_file=Path(args.temporal_db) if args.temporal_db else None, metrics_port=metrics_port
    )
    async with env, pg_schema(args.database_url, keep=args.keep) as url:
        engine = make_engine(url)
        key = await ApiKeys(sessions(engine)).create("day", scopes=["ingest", "read"])
        await engine.dispose()
        address = env.client.service_client.config.target_host
        queue, port = "omni", free_port()
        base = f"http://127.0.0.1:{port}"
        vapid, _ = generate_vapid_keys()
        with peers.smtp:
            async with (
                serving(peers.push.app()) as push_base,
                serving(peers.telegram.app()) as tg_base,
                serving(peers.twilio.app()) as twilio_base,
            ):
                peers.push.base = push_base
                hour = max(1, round(3600 / clock))
                proc_env = {
                    "OMNI_TEMPORAL_ADDRESS": address,
                    "OMNI_TASK_QUEUE": queue,
                    "DATABASE_URL": url,
                    "OMNI_SCENARIOS_DIR": str(folder / "scenarios"),
                    "OMNI_TEMPLATES_DIR": str(folder / "templates"),
                    "OMNI_DATA_DIR": str(folder / "data"),
                    "OMNI_API_PORT": str(port),
                    "OMNI_PUBLIC_URL": base,
                    "OMNI_TRACKING_SECRET": "day-tracking-secret-" + "x" * 24,
                    "OMNI_CONSOLE_PASSWORD": PASSWORD,
                    "OMNI_TELEGRAM_SECRET_TOKEN": TG_SECRET,
                    # The shop-wide cap, 4 a day, on the day's clock.
                    "OMNI_FREQUENCY_CAPS": f"4 per {24 * hour}s",
                    "OMNI_SMTP_HOST": "127.0.0.1",
                    "OMNI_SMTP_PORT": str(peers.smtp.port),
                    "OMNI_SMTP_SECURITY": "none",
                    "OMNI_TELEGRAM_BOT_TOKEN": peers.telegram.token,
                    "OMNI_TELEGRAM_API_URL": f"{tg_base}/bot",
                    "OMNI_TELEGRAM_PER_SECOND": "10000",
                    "OMNI_TWILIO_ACCOUNT_SID": peers.twilio.account_sid,
                    "OMNI_TWILIO_AUTH_TOKEN": peers.twilio.auth_token,
                    "OMNI_TWILIO_FROM": "+15005550001",
                    "OMNI_TWILIO_API_URL": twilio_base,
                    "OMNI_SMS_PER_SECOND": "10000",
                    "OMNI_VAPID_PRIVATE_KEY": vapid,
                    "OMNI_VAPID_SUBJECT": "mailto:ops@shop.example",
                    "BENCH_PUSH_ORIGIN": push_base,
                }
                api = spawn("api", proc_env, folder / "api.log")
                workers = [
                    spawn("worker", proc_env, folder / f"worker-{i}.log")
                    for i in range(args.workers)
                ]
                procs = [api, *workers]
                try:
                    await api_up(base, api)
                    for _ in range(600):
                        if await queue_pollers(env.client, queue) >= args.workers:
                            break
                        await asyncio.sleep(0.1)
                    await measure_day(
                        run,
                        args,
                        plan,
                        people,
                        peers,
                        env.client,
                        url,
                        base,
                        port,
                        key,
                        clock,
                        api.pid,
                        [w.pid for w in workers],
                        lambda: stop(workers),
                        ActionCounter(metrics_port),
                        children_named("temporal"),
                    )
                finally:
                    stop(procs)
    print(f"logs and scenarios: {folder}")
    run.save()


async def measure_day(
    run: Run,
    args: argparse.Namespace,
    plan: list[mix.Planned],
    people: dict[str, mix.Customer],
    peers: Peers,
    client: Any,
    url: str,
    base: str,
    port: int,
    key: str,
    clock: float,
    api_pid: int,
    worker_pids: list[int],
    stop_workers: Callable[[], None],
    counter: ActionCounter,
    server_pids: list[int],
) -> None:
    reactions = Reactions(base, clock, args.seed)
    peak: Counter[str] = Counter()
    cpu0 = {pid: cpu_of(pid) for pid in (api_pid, *worker_pids, *server_pids)}
    actions0 = await counter.settled()
    watching = True

    async def watch() -> None:
        while watching:
            emails, chats = peers.take()
            reactions.react(emails, chats)
            peak["workers"] = max(peak["workers"], sum(rss_mib(p) for p in worker_pids))
            peak["api"] = max(peak["api"], rss_mib(api_pid))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    spy = Spy(api_pid, RESULTS / "profile-day-api.txt") if args.profile else None
    if spy is not None:
        spy.__enter__()
    posting = await post_day(plan, people, peers.push, port, key, clock, args.concurrency)
    if spy is not None:
        spy.__exit__(None, None, None)
        print(f"--profile: the API process while the day's events were posted:\n{spy.summary()}")
    posted_s = posting.last - posting.first
    print(
        f"posted {len(plan):,} events in {posted_s:,.1f} s: {len(plan) / posted_s:,.1f} "
        f"events/s sustained; at most {posting.late:,.1f} s behind the schedule; answers "
        f"{dict(posting.answers)}; latency p50 {pct(posting.latencies, 50):,.0f} ms, p99 "
        f"{pct(posting.latencies, 99):,.0f} ms"
    )
    # The runs go on after the last event (welcome_series waits five days): drain.
    deadline = time.perf_counter() + (args.drain if args.drain >= 0 else mix.DAY / clock)
    running = -1
    while time.perf_counter() < deadline:
        running = (await client.count_workflows('ExecutionStatus = "Running"')).count
        if running == 0:
            break
        await asyncio.sleep(2)
    await asyncio.sleep(2)
    watching = False
    await watcher
    # The workers stop before anything is counted: no send is under way while the peers and
    # the send log are compared.
    cpu = {pid: cpu_of(pid) - before for pid, before in cpu0.items()}
    stop_workers()
    actions = await counter.settled() - actions0
    peers.take()  # counted; too late to react to
    await reactions.settle()
    runs = {
        s: (await client.count_workflows(f'OmniScenario = "{s}"')).count for s in _scenario_ids()
    }
    log, doubt = await sent_by_log(url)
    keys = set(log) | set(peers.got) | set(doubt)
    duplicates = sum(max(0, peers.got[k] - log[k] - doubt[k]) for k in keys)
    missing = sum(max(0, log[k] - peers.got[k]) for k in keys)
    by_channel = {
        ch: (
            sum(v for (_, c), v in peers.got.items() if c == ch),
            sum(v for (_, c), v in log.items() if c == ch),
        )
        for ch in CHANNELS
    }
    repeated_ids = sum(1 for v in peers.message_ids.values() if v > 1)
    messages = sum(peers.got.values())
    size, tables = await database_size(url)
    per_customer: Counter[str] = Counter()
    for (who, _), v in peers.got.items():
        per_customer[who] += v
    busiest = per_customer.most_common(1)[0][0] if per_customer else next(iter(people))
    funnel_s, customer_s = await console_pages(base, busiest, "abandoned_cart")
    total_runs = sum(runs.values())
    print(
        f"runs (Temporal visibility): {runs}; {total_runs / len(people):.2f} per customer; "
        f"still running after the drain: {running}"
    )
    print(
        "messages at the peers / sent in the send log: "
        + "; ".join(f"{ch} {got:,}/{logged:,}" for ch, (got, logged) in by_channel.items())
        + f"; in doubt (stopped mid-send) {sum(doubt.values())}; delivered twice {duplicates}, "
        f"missing {missing}, repeated Message-IDs {repeated_ids}"
    )
    print(f"reactions made: {dict(reactions.done)}")
    largest = sorted(tables.items(), key=lambda x: -x[1])[:5]
    top = ", ".join(f"{t} {b / 1e6:,.1f} MB" for t, b in largest)
    print(
        f"database: {size / 1e6:,.1f} MB, {size / len(people):,.0f} B per customer, "
        f"{size / max(messages, 1):,.0f} B per message (largest: {top})"
    )
    events = len(plan)
    api_ms = cpu[api_pid] / events * 1000
    worker_ms = sum(cpu[p] for p in worker_pids) / events * 1000
    server_ms = sum(cpu[p] for p in server_pids) / events * 1000
    print(
        f"peak RSS: workers {peak['workers']:,.0f} MiB, API {peak['api']:,.0f} MiB; CPU per "
        f"event: API {api_ms:.2f} ms, workers {worker_ms:.2f} ms, Temporal dev server "
        f"{server_ms:.2f} ms (PostgreSQL's is not attributable on a shared server)"
    )
    print(
        f"Temporal actions (the dev server's counter, what Cloud bills): {actions:,.0f}, "
        f"{actions / events:.2f} per event, {actions / len(people):.1f} per customer"
    )
    ok = "PASS" if max(funnel_s, customer_s) <= PAGE_TARGET_S else "MISS"
    print(
        f"console at this size: funnel (abandoned_cart) {funnel_s:.3f} s, customer page "
        f"({busiest}) {customer_s:.3f} s  (target <= {PAGE_TARGET_S} s each: {ok})"
    )
    run.set(
        customers=len(people),
        events=events,
        events_per_s=events / posted_s,
        late_s=posting.late,
        api_p50_ms=pct(posting.latencies, 50),
        api_p99_ms=pct(posting.latencies, 99),
        accepted=posting.answers["accepted"],
        duplicate_answers=posting.answers["duplicate"],
        runs=total_runs,
        runs_per_customer=total_runs / len(people),
        still_running=running,
        messages=messages,
        duplicates=duplicates,
        missing=missing,
        repeated_message_ids=repeated_ids,
        db_bytes=size,
        db_bytes_per_customer=size / len(people),
        db_bytes_per_message=size / max(messages, 1),
        worker_rss_mib=peak["workers"],
        api_rss_mib=peak["api"],
        api_cpu_ms=api_ms,
        actions=actions,
        actions_per_event=actions / events,
        worker_cpu_ms=worker_ms,
        server_cpu_ms=server_ms,
        funnel_page_s=funnel_s,
        customer_page_s=customer_s,
    )
    run.notes |= {"answers": dict(posting.answers), "runs": runs, "reactions": dict(reactions.done)}


def _scenario_ids() -> set[str]:
    return {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "database_url", nargs="?", default=os.environ.get("OMNI_TEST_POSTGRES_URL", DEFAULT_URL)
    )
    parser.add_argument("--scale", type=float, default=0.01, help="1 = 100,000 customers")
    parser.add_argument("--rate", type=float, default=100, help="events/s the clock aims at")
    parser.add_argument("--clock", type=float, default=0, help="speed-up (default: from --rate)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32, help="POSTs in flight")
    parser.add_argument(
        "--drain",
        type=float,
        default=-1,
        help="seconds to wait for runs after the last event (default: one day of the shop)",
    )
    parser.add_argument("--temporal-db", default="", help="persist the dev server (full size)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database schema")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the API process while events are posted"
    )
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    os._exit(0)

"""Scale-out: the API and 1, 2 (3) worker processes on one Temporal dev server and PostgreSQL.

    .venv/bin/python bench/scale.py [--events 300] [--workers 1,2] [--concurrency 16]
                                    [--database-url postgresql+asyncpg://...]

Processes: a Temporal dev server, one API process and N worker processes (bench/omni_process.py:
``run_api`` / ``run_worker`` as ``omni api`` / ``omni worker`` run them), PostgreSQL
(--database-url or OMNI_TEST_POSTGRES_URL; a fresh schema, dropped afterwards). The channels
point at the local peers of tests/peers (SMTP, web push, Telegram Bot API, Twilio), served by
this process. The scenario is the shipped abandoned_cart with every wait 1 s and no quiet hours
or scenario cap; each event is a new customer with all four addresses, so each run sends four
messages. Providers' rate limits are lifted where a variable exists (SMS, Telegram).

Per worker count: post N cart_updated events (contact inline) to /v1/events, wait until every
run has completed, print runs/s (first POST to last completion) and the messages the peers got
against the expected one per customer and channel (duplicates and missing listed). Figures are
printed, never asserted. On a 2-core machine the dev server, PostgreSQL, the API, the workers
and this process share the cores: the figure says whether work spreads over processes and
stays exactly-once, not what more cores would give.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text
from temporalio.client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from peers.push_service import PushService  # noqa: E402
from peers.smtp import SmtpPeer  # noqa: E402
from peers.telegram_api import TelegramPeer  # noqa: E402
from peers.twilio_api import TwilioPeer  # noqa: E402

from bench.runlog import Run  # noqa: E402
from channels.vapid import generate_vapid_keys  # noqa: E402
from orchestrator.api.keys import ApiKeys  # noqa: E402
from orchestrator.api.serve import free_port, serving  # noqa: E402
from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.ids import run_key, workflow_id  # noqa: E402
from orchestrator.engine.runtime import queue_pollers  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402
from orchestrator.language.model import Scenario  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402

CHANNELS = ("email", "push", "telegram", "sms")
LOGS = Path(tempfile.mkdtemp(prefix="omni-scale-"))


def short_scenarios(folder: Path) -> Scenario:
    """abandoned_cart with 1-second waits, no quiet hours and no scenario cap, in ``folder``."""
    doc = yaml.safe_load((ROOT / "scenarios" / "abandoned_cart.yaml").read_text())
    doc.pop("quiet_hours", None)
    doc.pop("frequency_cap", None)
    doc["steps"][0]["wait"] = "1s"
    for rung in doc["steps"][1]["escalate"]:
        if "wait" in rung:
            rung["wait"] = "1s"
    (folder / "scenarios").mkdir(parents=True)
    (folder / "scenarios" / "abandoned_cart.yaml").write_text(yaml.safe_dump(doc))
    shutil.copytree(ROOT / "templates", folder / "templates")
    return load_or_raise([folder / "scenarios"], folder / "templates")["abandoned_cart"]


@asynccontextmanager
async def pg_schema(base_url: str) -> AsyncIterator[str]:
    """A fresh, migrated schema on ``base_url``; dropped afterwards."""
    schema = f"scale_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}{'&' if '?' in base_url else '?'}search_path={schema}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def spawn(role: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "omni_process.py"), role],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


async def api_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError("the API process died (see its log)")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not come up")


class Peers:
    def __init__(self) -> None:
        self.smtp, self.push = SmtpPeer(), PushService()
        self.telegram, self.twilio = TelegramPeer(), TwilioPeer()

    def got(self, customers: dict[str, dict[str, str]]) -> dict[str, Counter[str]]:
        """Per channel, messages per customer of ``customers`` (id -> addresses)."""
        by_email = {a["email"]: c for c, a in customers.items()}
        by_phone = {a["phone"]: c for c, a in customers.items()}
        by_chat = {a["chat"]: c for c, a in customers.items()}
        by_device = {a["device"]: c for c, a in customers.items()}
        return {
            "email": Counter(
                by_email[r] for m in self.smtp.received for r in m.recipients if r in by_email
            ),
            "push": Counter(
                by_device[m["device"]] for m in self.push.received if m["device"] in by_device
            ),
            "telegram": Counter(
                by_chat[str(m["chat_id"])]
                for m in self.telegram.sent
                if str(m["chat_id"]) in by_chat
            ),
            "sms": Counter(by_phone[m["To"]] for m in self.twilio.messages if m["To"] in by_phone),
        }

    def message_ids(self, emails: set[str]) -> Counter[str]:
        return Counter(
            m.message["Message-ID"] for m in self.smtp.received if set(m.recipients) & emails
        )


def contact(push: PushService, n: int, customer: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A contact with all four addresses (the API checks them), and the addresses to count by."""
    device = f"dev-{customer}"
    addresses = {
        "email": f"{customer}@example.com",
        "phone": f"+4930{20_000_000 + n}",
        "chat": str(700_000_000 + n),
        "device": device,
    }
    body = {
        "email": addresses["email"],
        "phone": addresses["phone"],
        "telegram_chat_id": addresses["chat"],
        "push_subscriptions": [push.subscribe(device)],
        "timezone": "UTC",
        "consents": dict.fromkeys(CHANNELS, True),
    }
    return body, addresses


async def one_round(
    *,
    client: Client,
    base: str,
    key: str,
    scenario: Scenario,
    peers: Peers,
    n: int,
    first: int,
    concurrency: int,
) -> tuple[float, float, dict[str, dict[str, str]], Counter[str]]:
    """(seconds to the last completion, seconds posting, customers, outcomes)."""
    tag = uuid.uuid4().hex[:6]
    customers: dict[str, dict[str, str]] = {}
    bodies = []
    for i in range(n):
        customer = f"s{tag}-{i}"
        body, addresses = contact(peers.push, first + i, customer)
        customers[customer] = addresses
        data = {
            "cart": {
                "id": f"{tag}-{i}",
                "total": 42.0,
                "currency": "EUR",
                "url": "https://shop.example/cart",
                "items": [{"name": "Linen shirt", "qty": 1, "price": 42.0}],
            }
        }
        bodies.append(
            {
                "name": "cart_updated",
                "customer_id": customer,
                "event_id": f"{tag}-{i}",
                "data": data,
                "contact": body,
            }
        )
    wids = [
        workflow_id(scenario.id, run_key(scenario, b["customer_id"], b["data"])) for b in bodies
    ]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers, timeout=60) as h:

        async def poster() -> None:
            while not queue.empty():
                answer = await h.post("/v1/events", json=queue.get_nowait())
                assert answer.status_code == 202, answer.text

        t0 = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        posted = time.perf_counter() - t0
    waits = asyncio.Semaphore(100)

    async def outcome(wid: str) -> str:
        async with waits:
            return str((await client.get_workflow_handle(wid).result())["outcome"])

    outcomes = Counter(await asyncio.gather(*(outcome(w) for w in wids)))
    return time.perf_counter() - t0, posted, customers, outcomes


async def main(n: int, counts: list[int], concurrency: int, database_url: str) -> None:
    tmp = LOGS
    scenario = short_scenarios(tmp)
    peers = Peers()
    env = await start_dev_server()
    rows = []
    async with env, pg_schema(database_url) as url:
        factory_engine = make_engine(url)
        key = await ApiKeys(sessions(factory_engine)).create("bench", scopes=["ingest", "read"])
        await factory_engine.dispose()
        address = env.client.service_client.config.target_host
        queue, port = f"scale-{uuid.uuid4().hex[:8]}", free_port()
        vapid, _ = generate_vapid_keys()
        with peers.smtp:
            async with (
                serving(peers.push.app()) as push_base,
                serving(peers.telegram.app()) as tg_base,
                serving(peers.twilio.app()) as twilio_base,
            ):
                peers.push.base = push_base
                proc_env = {
                    "OMNI_TEMPORAL_ADDRESS": address,
                    "OMNI_TASK_QUEUE": queue,
                    "DATABASE_URL": url,
                    "OMNI_SCENARIOS_DIR": str(tmp / "scenarios"),
                    "OMNI_TEMPLATES_DIR": str(tmp / "templates"),
                    "OMNI_DATA_DIR": str(tmp / "data"),
                    "OMNI_API_PORT": str(port),
                    "OMNI_PUBLIC_URL": f"http://127.0.0.1:{port}",
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
                api = spawn("api", proc_env, tmp / "api.log")
                try:
                    base = f"http://127.0.0.1:{port}"
                    await api_up(base, api)
                    first = 0
                    for count in counts:
                        workers = [
                            spawn("worker", proc_env, tmp / f"worker-{count}-{i}.log")
                            for i in range(count)
                        ]
                        try:
                            for _ in range(600):
                                if await queue_pollers(env.client, queue) >= count:
                                    break
                                await asyncio.sleep(0.1)
                            procs = [api, *workers]
                            cpu_before = [cpu_seconds(p.pid) for p in procs]
                            elapsed, posted, customers, outcomes = await one_round(
                                client=env.client,
                                base=base,
                                key=key,
                                scenario=scenario,
                                peers=peers,
                                n=n,
                                first=first,
                                concurrency=concurrency,
                            )
                            await asyncio.sleep(1.0)  # a late duplicate would arrive now
                            cpu = [
                                cpu_seconds(p.pid) - b
                                for p, b in zip(procs, cpu_before, strict=True)
                            ]
                        finally:
                            stop(workers)
                        first += n
                        rows.append((count, elapsed, posted, outcomes, customers))
                        report_row(peers, *rows[-1], n)
                        print(
                            f"    CPU per run: workers {sum(cpu[1:]) / n * 1000:.1f} ms "
                            f"(all processes together), API {cpu[0] / n * 1000:.1f} ms"
                        )
                finally:
                    stop([api])
    print(f"logs: {tmp}")
    if len(rows) > 1:
        base_rate = n / rows[0][1]
        ratios = ", ".join(f"{c} workers {n / e / base_rate:.2f}x" for c, e, *_ in rows[1:])
        print(f"throughput against 1 worker: {ratios}")


def report_row(
    peers: Peers,
    count: int,
    elapsed: float,
    posted: float,
    outcomes: Counter[str],
    customers: dict[str, dict[str, str]],
    n: int,
) -> None:
    got = peers.got(customers)
    ids = peers.message_ids({a["email"] for a in customers.values()})
    parts = []
    for channel in CHANNELS:
        total = sum(got[channel].values())
        dup = sum(v - 1 for v in got[channel].values() if v > 1)
        missing = sum(1 for c in customers if got[channel][c] == 0)
        parts.append(f"{channel} {total}/{n} (dup {dup}, missing {missing})")
    repeated = sum(1 for v in ids.values() if v > 1)
    print(
        f"{count} worker(s): {n / elapsed:6.1f} runs/s ({n} runs in {elapsed:5.1f} s; events "
        f"posted at {n / posted:5.1f}/s); outcomes {dict(outcomes)}"
    )
    print(f"    messages at the peers: {'; '.join(parts)}; repeated Message-IDs {repeated}")
    print(f"    sends per worker process (their logs' 'sent' lines): {sends_per_worker(count)}")


def sends_per_worker(count: int) -> list[int]:
    logs = sorted(LOGS.glob(f"worker-{count}-*.log"))
    return [sum("omni.sends: sent " in line for line in log.open()) for log in logs]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events (runs) per worker count")
    default_counts = "1,2,3" if (os.cpu_count() or 1) >= 4 else "1,2"
    parser.add_argument("--workers", default=default_counts, help="worker counts, in order")
    parser.add_argument("--concurrency", type=int, default=16, help="POSTs in flight")
    parser.add_argument("--database-url", default=os.environ.get("OMNI_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("bench/scale.py needs PostgreSQL: --database-url or OMNI_TEST_POSTGRES_URL")
    counts = [int(c) for c in args.workers.split(",")]
    print(
        f"events per round: {args.events}, POST concurrency {args.concurrency}, worker counts "
        f"{counts}; {os.cpu_count()} CPU cores shared by every process; load {os.getloadavg()}"
    )
    with Run("scale", {k: v for k, v in vars(args).items() if k != "database_url"}).recording():
        asyncio.run(main(args.events, counts, args.concurrency, args.database_url))
    sys.stdout.flush()
    os._exit(0)

"""The best-time decision's reads at 1,000,000 send-log rows: how long one decision waits for
the store, and the bound it stays under.

    .venv/bin/python bench/send_time_store.py [--rows 1000000] [--customers 200000] [--days 90]

Fills a migrated store (SQLite in a temporary folder, and PostgreSQL when
OMNI_TEST_POSTGRES_URL is set, in a schema of its own) with ``--customers`` contacts in eight
time zones and send-log rows in time order over ``--days`` days (80% sent, of which 30% opened,
10% clicked, 1% replied, minutes to hours after the send; the rest skipped or failed), a few
customers with long histories (2,000 messages: the bound must hold for them too). Then times,
warm, median of 15:

- ``of_customer``: one customer's latest reactions (``ix_send_log_customer_sent``, at most
  ``OWN_LIMIT``), for an ordinary customer and for one with 2,000 messages;
- ``shop_sample_now``: the shop's latest 5,000 reactions with their customers' zones
  (``ix_send_log_sent_at``, read newest first; cached for 10 minutes by each worker);
- the whole ``best_time`` activity (contact, both reads with the shop's sample cached, the
  decision, the held send's row);

and prints the plans the database chose. The bounds it states are the slowest figures,
rounded up: what one decision adds to a send (the profile query, the whole activity), and
what a worker's read of the shop's sample costs once every 10 minutes, at this size, on
this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.engine.timing import BestTimeRequest, SendTiming  # noqa: E402
from orchestrator.store.contacts import SqlContacts  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402
from orchestrator.store.send_times import SqlSendTimes  # noqa: E402
from orchestrator.store.tables import ContactRow, SendRow  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
CHANNELS = ("email", "push", "telegram", "sms")
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
    None,
)
HEAVY = ("heavy-0", "heavy-1", "heavy-2")
HEAVY_ROWS = 2000
KINDS = ["opened", "clicked", "replied"]


def contact_rows(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(i),
            "timezone": ZONES[i % len(ZONES)],
            "attributes": {},
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(start, start + count)
    ]


def send_rows(
    start: int, count: int, total: int, customers: int, days: int
) -> list[dict[str, Any]]:
    """Rows in time order, as a send log grows; the first rows of every batch of 10,000 go to
    the heavy customers until each has ``HEAVY_ROWS``."""
    rng = random.Random(start)
    rows = []
    heavy_every = max(1, total // (HEAVY_ROWS * len(HEAVY)))
    for i in range(start, start + count):
        at = NOW - timedelta(seconds=days * 86400 * (total - i) / total + rng.random())
        roll = rng.random()
        status = "sent" if roll < 0.8 else "skipped" if roll < 0.95 else "failed"
        sent = status == "sent"
        customer = HEAVY[i % len(HEAVY)] if i % heavy_every == 0 else str(i % customers)

        reacted = [
            at + timedelta(minutes=rng.expovariate(1 / 180))
            if sent and rng.random() < chance
            else None
            for chance in (0.3, 0.1, 0.01)
        ]
        rows.append(
            {
                "key": f"s{i % 10}/customer-{customer}/g0/steps.1/{i}",
                "run_id": "",
                "customer_id": customer,
                "scenario": f"s{i % 10}",
                "step": "steps.1",
                "channel": CHANNELS[i % 4],
                "template": "t/reminder",
                "status": status,
                "reason": "quiet_hours" if status == "skipped" else "",
                "provider_id": "",
                "created_at": at,
                "sent_at": at if sent else None,
                "delivered_at": None,
                "opened_at": reacted[0],
                "clicked_at": reacted[1],
                "replied_at": reacted[2],
                "version": "v1",
                "test": False,
            }
        )
    return rows


async def fill(url: str, args: argparse.Namespace) -> float:
    engine = make_engine(url)
    began = time.perf_counter()
    batch = 20_000
    async with engine.begin() as conn:
        for start in range(0, args.customers, batch):
            await conn.execute(
                insert(ContactRow), contact_rows(start, min(batch, args.customers - start))
            )
        await conn.execute(
            insert(ContactRow),
            [{**contact_rows(0, 1)[0], "id": h, "timezone": "Europe/Berlin"} for h in HEAVY],
        )
        for start in range(0, args.rows, batch):
            n = min(batch, args.rows - start)
            await conn.execute(
                insert(SendRow), send_rows(start, n, args.rows, args.customers, args.days)
            )
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - began


async def timed(call: Callable[[], Awaitable[object]], repeat: int = 15) -> float:
    await call()  # warm: every figure is a warm figure
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


async def measure(label: str, url: str, args: argparse.Namespace) -> tuple[float, float]:
    await upgrade_async(url)
    filled = await fill(url, args)
    engine = make_engine(url)
    factory = sessions(engine)
    times = SqlSendTimes(factory)
    timing = SendTiming(times=times, directory=SqlContacts(factory), decisions=times)
    ordinary = str(args.customers // 2 + 1)
    n = 0

    async def decide() -> object:
        nonlocal n
        n += 1
        return await timing.best_time(
            BestTimeRequest(
                key=f"bench/{n}",
                customer_id=ordinary,
                scenario="bench",
                step="steps.1",
                channels=["email"],
                now=NOW.isoformat(),
                within_s=86400,
                kinds=KINDS,
            )
        )

    own = await times.of_customer(ordinary, KINDS)
    heavy = await times.of_customer(HEAVY[0], KINDS)
    shop = await times.shop_sample_now(KINDS)
    figures = {
        f"of_customer, an ordinary customer ({len(own)} reactions)": await timed(
            lambda: times.of_customer(ordinary, KINDS)
        ),
        f"of_customer, {HEAVY_ROWS:,} messages ({len(heavy)} reactions read)": await timed(
            lambda: times.of_customer(HEAVY[0], KINDS)
        ),
        f"shop_sample_now ({len(shop):,} reactions, uncached)": await timed(
            lambda: times.shop_sample_now(KINDS), repeat=5
        ),
        "the best_time activity (shop sample cached)": await timed(decide),
    }
    print(
        f"\n{label}: {args.rows:,} send-log rows, {args.customers:,} contacts "
        f"(filled in {filled:.0f} s)"
    )
    for what, ms in figures.items():
        print(f"  {what:<58} {ms:8.1f} ms")
    explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
    own_sql = (
        "SELECT channel, opened_at, clicked_at, replied_at FROM send_log WHERE customer_id = :c "
        "AND status = 'sent' AND test = false AND (opened_at IS NOT NULL OR clicked_at IS NOT "
        "NULL OR replied_at IS NOT NULL) ORDER BY sent_at DESC LIMIT 200"
    )
    shop_sql = (
        "SELECT s.channel, s.opened_at, c.timezone FROM send_log s LEFT JOIN contacts c ON "
        "c.id = s.customer_id WHERE s.sent_at IS NOT NULL AND s.status = 'sent' AND s.test = "
        "false AND (s.opened_at IS NOT NULL OR s.clicked_at IS NOT NULL OR s.replied_at IS NOT "
        "NULL) ORDER BY s.sent_at DESC LIMIT 5000"
    )
    async with factory() as s:
        for name, sql in (("customer", own_sql), ("shop", shop_sql)):
            plan = (await s.execute(text(explain + sql), {"c": ordinary})).all()
            print(f"  plan, {name}: " + "\n              ".join(str(row[-1]) for row in plan))
    await engine.dispose()
    values = list(figures.values())
    return max(values[0], values[1], values[3]), values[2]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    slowest: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        slowest["SQLite"] = await measure("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args)
    pg = os.environ.get("OMNI_TEST_POSTGRES_URL", "")
    if pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(pg)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{pg}{'&' if '?' in pg else '?'}search_path={schema}"
            slowest["PostgreSQL"] = await measure("PostgreSQL", url, args)
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
    else:
        print("\nPostgreSQL: skipped (set OMNI_TEST_POSTGRES_URL)")
    print()
    for label, (decision, shop) in slowest.items():
        print(
            f"bound, {label}: a decision (profile query and activity) under "
            f"{10 * (int(decision) // 10 + 1)} ms; the shop's sample, once per 10 minutes "
            f"per worker, under {10 * (int(shop) // 10 + 1)} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())

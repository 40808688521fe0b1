"""The console's funnel query at 1,000,000 send-log rows, against COUNT(*) over the same table.

    .venv/bin/python bench/console.py [--rows 1000000] [--scenarios 10] [--days 90]

Fills a migrated store (SQLite in a temporary folder, and PostgreSQL when
OMNI_TEST_POSTGRES_URL is set, in a schema of its own) with send-log rows, in time order as a
send log grows, spread over
``--scenarios`` scenarios, 5 steps, 4 channels and ``--days`` days (80% sent, 15% skipped for
five reasons, 5% failed; some delivered, opened, clicked, replied; 3% of those sent held by
quiet hours first) and a run outcome per 5
rows. Then, in the same run, times (median of 7) the baseline — one ``SELECT COUNT(*)`` over
the whole send log — and the scenario page's funnel (messages per step and channel, runs by
outcome) for one scenario over 1, 7 and 30 days and for one version, prints the plan the
database chose for the send-log part, and times the Messages page (its counts by fate over
every scenario and over one, a customer's counts, the latest 200 rows and those of one
reason).
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

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.runlog import Run  # noqa: E402
from orchestrator.store.db import make_engine, sessions  # noqa: E402
from orchestrator.store.funnel import SqlFunnel  # noqa: E402
from orchestrator.store.message_views import SqlMessages, Wanted  # noqa: E402
from orchestrator.store.migrate import upgrade_async  # noqa: E402
from orchestrator.store.tables import RunOutcomeRow, SendRow  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
CHANNELS = ("email", "push", "telegram", "sms")
REASONS = (
    "no_address: no sms address on file",
    "quiet_hours",
    "frequency_cap: 4 per 1d",
    "too_late: the moment for this send had already passed",
    "holdout: this customer is held out, so nothing is sent",
)
OUTCOMES = ("reacted", "exhausted", "converted", "exited", "nothing_sent", "")


def send_rows(
    start: int, count: int, scenarios: int, days: int, total: int
) -> list[dict[str, Any]]:
    """Rows in time order, as a send log grows (a row is written when its message goes)."""
    rng = random.Random(start)
    rows = []
    for i in range(start, start + count):
        at = NOW - timedelta(seconds=days * 86400 * (total - i) / total + rng.random())
        roll = rng.random()
        status = "sent" if roll < 0.8 else "skipped" if roll < 0.95 else "failed"
        sent = status == "sent"
        rows.append(
            {
                "key": f"s{i % scenarios}/customer-{i}/g0/steps.{i % 5 + 1}/{i}",
                "run_id": f"s{i % scenarios}/customer-{i}/abcd",
                "customer_id": str(i % 200_000),
                "scenario": f"s{i % scenarios}",
                "step": f"steps.{i % 5 + 1}",
                "channel": CHANNELS[i % 4],
                "template": "t/reminder",
                "status": status,
                "reason": rng.choice(REASONS) if status == "skipped" else "",
                "provider_id": "",
                "created_at": at,
                "sent_at": at if sent else None,
                "delivered_at": at if sent and rng.random() < 0.9 else None,
                "opened_at": at if sent and rng.random() < 0.3 else None,
                "clicked_at": at if sent and rng.random() < 0.1 else None,
                "replied_at": at if sent and rng.random() < 0.01 else None,
                "version": f"v{i % 3}",
                "test": False,
                # Held by quiet hours first, then sent (3%).
                "held": "quiet_hours" if sent and rng.random() < 0.03 else "",
            }
        )
    return rows


def outcome_rows(start: int, count: int, scenarios: int, days: int) -> list[dict[str, Any]]:
    rng = random.Random(-start)
    return [
        {
            "run_id": uuid.UUID(int=i).hex,
            "workflow_id": f"s{i % scenarios}/customer-{i}",
            "scenario": f"s{i % scenarios}",
            "version": f"v{i % 3}",
            "customer_ref": str(i % 200_000),
            "status": "completed",
            "outcome": rng.choice(OUTCOMES),
            "started_at": NOW - timedelta(seconds=rng.randrange(days * 86400)),
            "closed_at": NOW,
        }
        for i in range(start, start + count)
    ]


async def fill(url: str, rows: int, scenarios: int, days: int) -> float:
    engine = make_engine(url)
    began = time.perf_counter()
    batch = 20_000
    async with engine.begin() as conn:
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            await conn.execute(insert(SendRow), send_rows(start, n, scenarios, days, rows))
            if start % (batch * 5) == 0:
                await conn.execute(insert(RunOutcomeRow), outcome_rows(start, n, scenarios, days))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - began


async def timed(call: Callable[[], Awaitable[object]], repeat: int = 7) -> float:
    await call()  # warm the cache: every figure is a warm figure
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


async def measure(label: str, url: str, args: argparse.Namespace) -> None:
    await upgrade_async(url)
    filled = await fill(url, args.rows, args.scenarios, args.days)
    engine = make_engine(url)
    factory = sessions(engine)
    funnel = SqlFunnel(factory)

    async def count_all() -> object:
        async with factory() as s:
            return await s.scalar(select(func.count()).select_from(SendRow))

    total = await count_all()
    baseline = await timed(count_all)
    print(f"\n{label}: {total:,} send-log rows (filled in {filled:.0f} s)")
    print(f"  baseline  SELECT COUNT(*) FROM send_log          {baseline:8.1f} ms")
    for days in (1, 7, 30):
        since = NOW - timedelta(days=days)
        ms = await timed(lambda since=since: funnel.funnel("s1", since, NOW))  # type: ignore[misc]
        found = await funnel.funnel("s1", since, NOW)
        rows = sum(f.sent + f.failed + sum(f.skipped.values()) for f in found.steps)
        print(
            f"  funnel    one scenario, last {days:>2} day(s)  {ms:8.1f} ms  "
            f"({rows:,} messages, {found.entered:,} runs; {ms / baseline:.2f}x baseline)"
        )
    since = NOW - timedelta(days=30)
    ms = await timed(lambda: funnel.funnel("s1", since, NOW, "v1"))
    print(f"  funnel    one scenario, 30 days, one version   {ms:8.1f} ms  ({ms / baseline:.2f}x)")
    sends = (
        "SELECT step, channel, status, reason, count(*) FROM send_log WHERE scenario = 's1' "
        "AND created_at >= :since AND created_at < :until AND test = false "
        "GROUP BY step, channel, status, reason"
    )
    explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
    async with factory() as s:
        plan = (await s.execute(text(explain + sends), {"since": since, "until": NOW})).all()
    print("  plan:     " + "\n            ".join(str(row[-1]) for row in plan))
    await messages_page(factory, baseline)
    await engine.dispose()


async def messages_page(factory: Any, baseline: float) -> None:
    """The Messages page and a customer's page: their counts by fate and their rows."""
    messages = SqlMessages(factory)
    week = NOW - timedelta(days=7)
    cases: list[tuple[str, Wanted]] = [
        ("every scenario, last 7 days", Wanted(since=week)),
        ("one scenario, last 7 days", Wanted(scenario="s1", since=week)),
        ("one customer, all time", Wanted(customer_id="4242")),
    ]
    for label, wanted in cases:
        ms = await timed(lambda wanted=wanted: messages.fates(wanted))  # type: ignore[misc]
        n = sum(c.count for c in await messages.fates(wanted))
        print(f"  counts    {label:<34} {ms:8.1f} ms  ({n:,} messages; {ms / baseline:.2f}x)")
    for label, wanted in (
        ("latest 200, every scenario", Wanted(since=week)),
        ("latest 200 held out, one scenario", Wanted(scenario="s1", since=week, reason="holdout")),
    ):
        ms = await timed(lambda wanted=wanted: messages.recent(wanted, 200))  # type: ignore[misc]
        print(f"  rows      {label:<34} {ms:8.1f} ms  ({ms / baseline:.2f}x)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scenarios", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await measure("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args)
    pg = os.environ.get("OMNI_TEST_POSTGRES_URL", "")
    if not pg:
        print("\nPostgreSQL: skipped (set OMNI_TEST_POSTGRES_URL)")
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        await measure("PostgreSQL", f"{pg}{'&' if '?' in pg else '?'}search_path={schema}", args)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


if __name__ == "__main__":
    with Run("console", {"argv": sys.argv[1:]}).recording():
        asyncio.run(main())

"""The cap check and the slot it takes are one atomic step (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.sendlog import SendRecord
from orchestrator.language.policy_syntax import parse_cap
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.sendlog import SqlSendLog

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def entry(key: str, customer: str, channel: str = "email", at: datetime = T0) -> SendRecord:
    return SendRecord(
        key=key,
        customer_id=customer,
        scenario=key.split("/")[0],
        step="steps.1",
        channel=channel,
        template="t/m",
        status="reserved",
        at=at,
        run=key.rsplit("/", 2)[0],
    )


async def test_concurrent_scenarios_cannot_share_the_last_slot(
    db: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    log = SqlSendLog(db)
    caps = [parse_cap("3 per 1d")]
    for i in range(2):  # two messages already went out today
        earlier = entry(
            f"welcome/customer-a/r{i}/g0/steps.1/email", "a", at=T0 - timedelta(hours=i + 1)
        )
        assert await log.reserve(earlier, caps) is None
        await log.record(SendRecord(**{**earlier.__dict__, "status": "sent"}))
    # Another customer's messages never count against customer a.
    for i in range(3):
        assert await log.reserve(entry(f"cart/customer-b/r{i}/g0/steps.1/email", "b"), caps) is None
    # Several processes' worth of connections race for the one slot left (customer a), and
    # for the only slot of a stricter cap (customer d, nothing sent yet).
    engines = [make_engine(db_url) for _ in range(4)]
    logs = [SqlSendLog(sessions(e)) for e in engines]
    strict = [parse_cap("1 per 1d")]
    contenders = [entry(f"s{i}/customer-a/r/g0/steps.1/email", "a") for i in range(20)]
    fresh = [entry(f"s{i}/customer-d/r/g0/steps.1/email", "d") for i in range(20)]
    try:
        answers = await asyncio.gather(
            *(logs[i % len(logs)].reserve(c, caps) for i, c in enumerate(contenders))
        )
        strict_answers = await asyncio.gather(
            *(logs[i % len(logs)].reserve(c, strict) for i, c in enumerate(fresh))
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sum(a is None for a in strict_answers) == 1
    winners = [c.key for c, cap in zip(contenders, answers, strict=True) if cap is None]
    assert len(winners) == 1, winners
    losers = [c.key for c, cap in zip(contenders, answers, strict=True) if cap is not None]
    for key in losers:
        assert await log.get(key) is None  # a refused reservation writes nothing
    held = await log.get(winners[0])
    assert held is not None and held.status == "reserved"
    assert len(await log.sent_since("a", T0 - timedelta(days=1))) == 3


async def test_a_retried_send_keeps_its_slot_and_a_failure_frees_it(
    db: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlSendLog(db)
    caps = [parse_cap("1 sms per 7d"), parse_cap("2 per 1d")]
    first = entry("cart/customer-c/r1/g0/steps.2.rung4/sms", "c", channel="sms")
    assert await log.reserve(first, caps) is None
    assert await log.reserve(first, caps) is None  # the same key again: its own slot
    other = entry("browse/customer-c/r2/g0/steps.3/sms", "c", channel="sms")
    refused = await log.reserve(other, caps)
    assert refused is not None and refused.channel == "sms"
    email = entry("browse/customer-c/r2/g0/steps.3/email", "c")
    assert await log.reserve(email, caps) is None  # the sms cap does not bind email
    await log.record(SendRecord(**{**first.__dict__, "status": "failed", "reason": "rejected"}))
    assert await log.reserve(other, caps) is None  # the failed send gave its slot back


async def test_one_bad_row_in_a_group_commit_fails_alone(
    db: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """On PostgreSQL a NUL character cannot be stored: that claim fails, its 29 neighbours in
    the same group commit are stored (the API refuses such ids first; this is the backstop)."""
    from orchestrator.store.events import EventLog

    log = EventLog(db)
    ids = [f"ok-{i}" for i in range(29)] + ["bad\x00id"]
    answers = await asyncio.gather(
        *(log.claim(e, "cart_updated", "c", [], {"event_id": e}) for e in ids),
        return_exceptions=True,
    )
    failed = [e for e, a in zip(ids, answers, strict=True) if isinstance(a, BaseException)]
    assert failed == (["bad\x00id"] if db_url.startswith("postgresql") else [])
    for e in ids[:29]:
        assert (await log.get(e)) is not None

"""The console's funnel and run outcomes in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.sendlog import SendRecord
from orchestrator.store.funnel import OutcomeRecord, SqlFunnel
from orchestrator.store.message_views import SqlMessages
from orchestrator.store.sendlog import SqlSendLog

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def sent(key: str, step: str, channel: str = "email", **kw: object) -> SendRecord:
    fields: dict[str, object] = dict(
        key=key,
        customer_id="c1",
        scenario="cart",
        step=step,
        channel=channel,
        template="t",
        status="sent",
        at=T0,
        version="v1",
    )
    fields.update(kw)
    return SendRecord(**fields)  # type: ignore[arg-type]


async def test_funnel_counts_per_step_and_channel(db: async_sessionmaker[AsyncSession]) -> None:
    log, funnel = SqlSendLog(db), SqlFunnel(db)
    for i in range(4):
        await log.record(sent(f"k{i}", "steps.1.rung1"))
    await log.record(sent("k4", "steps.1.rung2", "sms"))
    await log.record(sent("s1", "steps.1.rung2", "sms", status="skipped", reason="no_address: x"))
    await log.record(sent("s2", "steps.1.rung2", "sms", status="skipped", reason="no_address: y"))
    await log.record(sent("s3", "steps.1.rung2", "sms", status="skipped", reason="quiet_hours"))
    await log.record(sent("f1", "steps.1.rung2", "sms", status="failed", reason="blocked"))
    await log.record(sent("old", "steps.1.rung1", at=T0 - timedelta(days=30)))
    await log.record(sent("v2", "steps.1.rung1", version="v2"))
    await log.record(sent("test", "test", test=True))
    await log.record(sent("other", "steps.1.rung1", scenario="welcome"))
    await log.mark("k0", "opened", T0)
    await log.mark("k0", "clicked", T0)
    await log.mark("k1", "opened", T0)
    await log.mark("k1", "delivered", T0)
    assert await log.mark_reply("c1", "sms", T0)
    runs = [
        OutcomeRecord(f"r{i}", f"cart/{i}", "cart", "v1", "c1", "completed", outcome, T0, T0)
        for i, outcome in enumerate(["reacted", "reacted", "exhausted", "not_triggered"])
    ]
    runs.append(OutcomeRecord("r9", "cart/9", "cart", "v1", "c1", "running", "", T0, None))
    await funnel.save_outcomes(runs)

    got = await funnel.funnel("cart", T0 - timedelta(days=1), T0 + timedelta(days=1), "v1")
    by = {(f.step, f.channel): f for f in got.steps}
    email = by[("steps.1.rung1", "email")]
    assert (email.sent, email.delivered, email.opened, email.clicked) == (4, 1, 2, 1)
    assert email.rate(email.opened) == "50%"
    sms = by[("steps.1.rung2", "sms")]
    assert (sms.sent, sms.failed, sms.replied) == (1, 1, 1)
    assert sms.skipped == {"no_address": 2, "quiet_hours": 1}
    assert got.outcomes == {"reacted": 2, "exhausted": 1, "not_triggered": 1, "": 1}
    assert got.entered == 4
    every = await funnel.funnel("cart", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert {(f.step, f.sent) for f in every.steps if f.channel == "email"} == {
        ("steps.1.rung1", 5)
    }  # both versions; not the test send, not the older month, not other scenarios


async def test_outcomes_upsert_and_list_a_customers_runs(
    db: async_sessionmaker[AsyncSession],
) -> None:
    funnel = SqlFunnel(db)
    assert await funnel.watermarks() == (None, None)
    run = OutcomeRecord("r1", "cart/c1", "cart", "v1", "c1", "running", "", T0, None)
    await funnel.save_outcomes([run])
    closed = OutcomeRecord(
        "r1", "cart/c1", "cart", "v1", "c1", "completed", "converted", T0, T0 + timedelta(hours=1)
    )
    await funnel.save_outcomes([closed])
    assert await funnel.watermarks() == (T0, T0 + timedelta(hours=1))
    assert [r.outcome for r in await funnel.runs_of("c1")] == ["converted"]
    assert await funnel.versions("cart") == ["v1"]


async def test_kept_messages_are_erased_with_the_customer(
    db: async_sessionmaker[AsyncSession],
) -> None:
    log, messages = SqlSendLog(db), SqlMessages(db)
    await log.record(sent("b1", "steps.1", body='{"channel": "email", "subject": "Hi Alex"}'))
    assert (await messages.one("b1")).body.startswith("{")  # type: ignore[union-attr]
    await log.forget_bodies("c1")
    assert (await messages.one("b1")).body == ""  # type: ignore[union-attr]
    assert [m.key for m in await messages.of_customer("c1")] == ["b1"]

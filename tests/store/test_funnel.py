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


async def test_every_skip_and_hold_is_counted_by_the_store(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 23: too late, holdout, quiet hours (skipped, or held then sent, or held now),
    cap, consent and no address — per step in the funnel, per fate in Messages and on a
    customer's page, with Messages filtered by one reason; the holdout's runs counted too."""
    from dataclasses import replace

    from orchestrator.engine.learning import ArmRecord
    from orchestrator.store.arms import SqlArms
    from orchestrator.store.message_views import Wanted

    log, funnel, messages = SqlSendLog(db), SqlFunnel(db), SqlMessages(db)
    step = "steps.1.rung1"
    skips = {
        "late-a": "too_late: the moment for this send had already passed",
        "late-b": "too_late: the moment for this send had already passed",
        "out-a": "holdout: this customer is held out, so nothing is sent",
        "cap-a": "frequency_cap: 3 per 1d reached",
        "nocon-a": "no_consent: never granted",
        "noaddr-a": "no_address: no email address on file",
        "quiet-a": "quiet_hours",
    }
    for customer, reason in skips.items():
        await log.record(
            sent(customer, step, customer_id=customer, status="skipped", reason=reason)
        )
    # Held by quiet hours: one sent in the morning, one still waiting; a third customer's send
    # was held for their earlier events.
    for customer, why in (
        ("held-a", "quiet_hours"),
        ("held-b", "quiet_hours"),
        ("held-c", "events_pending"),
    ):
        hold = sent(
            customer, step, customer_id=customer, status="deferred", reason=f"{why}: until x"
        )
        await log.defer(replace(hold, held=why))
    await log.record(sent("held-a", step, customer_id="held-a"))
    await log.record(sent("held-c", step, customer_id="held-c"))
    await log.record(sent("ok-a", step, customer_id="ok-a"))
    await log.record(
        sent(
            "late-z",
            step,
            customer_id="late-z",
            scenario="welcome",
            status="skipped",
            reason="too_late: x",
        )
    )
    runs = [
        OutcomeRecord(f"r-{c}", f"cart/{c}", "cart", "v1", c, status, outcome, T0, None)
        for c, status, outcome in (
            ("out-a", "running", ""),
            ("out-b", "completed", "held_out"),
            ("ok-a", "completed", "exhausted"),
        )
    ]
    await funnel.save_outcomes(runs)
    await SqlArms(db).record(
        [
            ArmRecord(f"cart/{c}", "v1", "cart", c, "holdout", arm, T0)
            for c, arm in (("out-a", "held_out"), ("out-b", "held_out"), ("ok-a", "treated"))
        ]
    )

    got = await funnel.funnel("cart", T0 - timedelta(days=1), T0 + timedelta(days=1))
    [f] = got.steps
    assert f.skipped == {
        "too_late": 2,
        "holdout": 1,
        "frequency_cap": 1,
        "no_consent": 1,
        "no_address": 1,
        "quiet_hours": 1,
    }
    assert f.held == {"quiet_hours": 2, "events_pending": 1} and f.waiting == 1
    assert f.sent == 3  # ok-a, held-a and held-c once their holds ended
    assert got.held_out == 2 and got.entered == 3

    period = Wanted(scenario="cart", since=T0 - timedelta(days=1))
    fates = {
        (c.status, c.reason.split(":")[0], c.held): c.count for c in await messages.fates(period)
    }
    assert fates == {
        ("sent", "", ""): 1,
        ("sent", "", "quiet_hours"): 1,
        ("sent", "", "events_pending"): 1,
        ("deferred", "quiet_hours", "quiet_hours"): 1,
        ("skipped", "too_late", ""): 2,
        ("skipped", "holdout", ""): 1,
        ("skipped", "frequency_cap", ""): 1,
        ("skipped", "no_consent", ""): 1,
        ("skipped", "no_address", ""): 1,
        ("skipped", "quiet_hours", ""): 1,
    }

    async def who(reason: str) -> list[str]:
        return sorted(m.customer_id for m in await messages.recent(replace(period, reason=reason)))

    assert await who("too_late") == ["late-a", "late-b"]  # not the other scenario's
    assert await who("holdout") == ["out-a"]
    assert await who("quiet_hours") == ["held-a", "held-b", "quiet-a"]  # skipped or held
    assert await who("no") == []  # a code, not a prefix of one
    mine = await messages.fates(Wanted(customer_id="held-a"))
    assert [(c.status, c.held, c.count) for c in mine] == [("sent", "quiet_hours", 1)]

"""Reactions per channel from the send log, and runs' arms joined with their outcomes, in SQL
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.affinity import Tally
from orchestrator.engine.learning import ArmRecord
from orchestrator.engine.sendlog import SendRecord
from orchestrator.store.arms import SqlArms
from orchestrator.store.funnel import OutcomeRecord, SqlFunnel
from orchestrator.store.reactions import SqlReactionStats
from orchestrator.store.sendlog import SqlSendLog

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def message(key: str, customer: str, channel: str, **kw: object) -> SendRecord:
    fields: dict[str, object] = dict(
        key=key,
        customer_id=customer,
        scenario="cart",
        step="steps.1.rung1",
        channel=channel,
        template="t",
        status="sent",
        at=T0,
    )
    fields.update(kw)
    return SendRecord(**fields)  # type: ignore[arg-type]


async def test_reactions_per_channel_for_a_customer_and_the_shop(
    db: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlSendLog(db)
    for i in range(6):
        await log.record(message(f"a-tg-{i}", "a", "telegram"))
    for i in range(5):
        await log.mark(f"a-tg-{i}", "replied" if i % 2 else "clicked", T0)
    for i in range(9):
        await log.record(message(f"a-em-{i}", "a", "email"))
    await log.mark("a-em-0", "opened", T0)
    await log.record(message("a-skip", "a", "sms", status="skipped", reason="no_address"))
    await log.record(message("a-test", "a", "sms", test=True))
    for i in range(4):
        await log.record(message(f"b-em-{i}", "b", "email"))
        await log.mark(f"b-em-{i}", "clicked", T0)
    stats = SqlReactionStats(db)

    assert await stats.of_customer("a", ["opened", "clicked", "replied"]) == {
        "telegram": Tally(6, 5),
        "email": Tally(9, 1),
    }
    # A scenario that counts only clicks does not count opens and replies.
    assert await stats.of_customer("a", ["clicked"]) == {
        "telegram": Tally(6, 3),
        "email": Tally(9, 0),
    }
    shop = await stats.of_shop(["opened", "clicked", "replied"])
    assert shop == {"telegram": Tally(6, 5), "email": Tally(13, 5)}
    # Kept for a while: a new message does not move the shop-wide prior at once.
    await log.record(message("c-em", "c", "email"))
    assert await stats.of_shop(["opened", "clicked", "replied"]) == shop
    fresh = SqlReactionStats(db, shop_ttl_s=0)
    assert (await fresh.of_shop(["opened", "clicked", "replied"]))["email"] == Tally(14, 5)


async def test_arms_join_run_outcomes_per_experiment(db: async_sessionmaker[AsyncSession]) -> None:
    arms, funnel = SqlArms(db), SqlFunnel(db)
    outcomes = []
    rows = []
    plan = [
        # (customer, arm, variant, outcomes of its runs)
        ("c1", "treated", "short", ["converted", "reacted"]),
        ("c2", "treated", "long", ["exhausted"]),
        ("c3", "held_out", "short", ["converted"]),
        ("c4", "held_out", "long", ["held_out", ""]),
        ("c5", "treated", "long", ["not_triggered"]),
    ]
    for customer, arm, variant, runs in plan:
        wid = f"cart/customer-{customer}"
        for experiment, value in (("holdout", arm), ("steps.2", variant)):
            rows.append(ArmRecord(wid, "v1", "cart", customer, experiment, value, T0))
        for i, outcome in enumerate(runs):
            status = "running" if not outcome else "completed"
            outcomes.append(
                OutcomeRecord(
                    f"{customer}-{i}", wid, "cart", "v1", customer, status, outcome, T0, T0
                )
            )
    await arms.record(rows)
    await arms.record(rows[:2])  # recorded again by a retried activity: no change
    # Another version of the scenario: its runs have arms of their own.
    outcomes.append(
        OutcomeRecord(
            "c1-v2", "cart/customer-c1", "cart", "v2", "c1", "completed", "converted", T0, T0
        )
    )
    await funnel.save_outcomes(outcomes)

    got = await arms.counts("cart", T0 - timedelta(days=1), T0 + timedelta(days=1), "v1")
    by = {(c.experiment, c.arm): (c.finished, c.converted, c.running) for c in got}
    assert by == {
        ("holdout", "treated"): (3, 1, 0),
        ("holdout", "held_out"): (2, 1, 1),
        ("steps.2", "short"): (3, 2, 0),
        ("steps.2", "long"): (2, 0, 1),
    }
    # Without a version filter the v2 run has no arm row and is not counted.
    everything = await arms.counts("cart", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert {(c.experiment, c.arm): c.finished for c in everything}[("holdout", "treated")] == 3

"""What only the SQL store does for learning, on SQLite and PostgreSQL: the shop-wide reaction
figures kept for a while, and runs' arms joined with their outcomes for the console."""

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


async def test_the_shop_wide_figures_are_kept_for_a_while(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A prior moves slowly: the whole log is read once per ``shop_ttl_s`` (what counts is the
    contract's, test_contract_learning.py)."""
    log = SqlSendLog(db)
    for i in range(4):
        await log.record(message(f"b-em-{i}", "b", "email"))
        await log.mark(f"b-em-{i}", "clicked", T0)
    stats = SqlReactionStats(db)
    shop = await stats.of_shop(["opened", "clicked", "replied"])
    assert shop == {"email": Tally(4, 4)}
    await log.record(message("c-em", "c", "email"))
    assert await stats.of_shop(["opened", "clicked", "replied"]) == shop
    fresh = SqlReactionStats(db, shop_ttl_s=0)
    assert (await fresh.of_shop(["opened", "clicked", "replied"]))["email"] == Tally(5, 4)


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

"""What learned ladders and experiments read and write, held to one contract by the in-memory
stand-ins and the SQL store on SQLite and PostgreSQL: reactions per channel counted from the
send log (a message counts when ``sent``, test sends aside; it reacted when one of the
scenario's kinds is marked), and a run's arm in an experiment recorded once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from contract_stores import Stores

from orchestrator.engine.affinity import Tally
from orchestrator.engine.learning import ArmRecord
from orchestrator.engine.sendlog import SendRecord

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALL = ["opened", "clicked", "replied"]


def message(key: str, customer: str, channel: str, status: str = "sent") -> SendRecord:
    return SendRecord(
        key=key,
        customer_id=customer,
        scenario="cart",
        step="steps.1.rung1",
        channel=channel,
        template="t",
        status=status,
        at=T0,
    )


async def test_reactions_per_channel_for_a_customer_and_the_shop(stores: Stores) -> None:
    log, stats = stores.send_log, stores.stats
    for i in range(6):
        await log.record(message(f"a-tg-{i}", "a", "telegram"))
    for i in range(5):
        await log.mark(f"a-tg-{i}", "replied" if i % 2 else "clicked", T0)
    for i in range(9):
        await log.record(message(f"a-em-{i}", "a", "email"))
    await log.mark("a-em-0", "opened", T0)
    await log.mark("a-em-1", "delivered", T0)  # delivered is not a reaction
    await log.record(replace(message("a-skip", "a", "sms", "skipped"), reason="no_address"))
    await log.record(message("a-rec", "a", "sms", "recorded"))  # kept locally, not delivered
    await log.record(replace(message("a-test", "a", "sms"), test=True))
    await log.mark("a-test", "clicked", T0)
    for i in range(4):
        await log.record(message(f"b-em-{i}", "b", "email"))
        await log.mark(f"b-em-{i}", "clicked", T0)
    await log.record(message("A-em-0", "A", "email"))  # another customer than a

    assert await stats.of_customer("a", ALL) == {"telegram": Tally(6, 5), "email": Tally(9, 1)}
    # A scenario that counts only clicks does not count opens and replies.
    assert await stats.of_customer("a", ["clicked"]) == {
        "telegram": Tally(6, 3),
        "email": Tally(9, 0),
    }
    assert await stats.of_customer("nobody", ALL) == {}
    shop = await stats.of_shop(ALL)
    assert shop == {"telegram": Tally(6, 5), "email": Tally(14, 5)}
    assert await stats.of_shop(["opened"]) == {"telegram": Tally(6, 0), "email": Tally(14, 1)}


async def test_a_runs_arm_is_recorded_once(stores: Stores) -> None:
    arms = stores.arms
    first = [
        ArmRecord("cart/customer-c1", "v1", "cart", "c1", "holdout", "treated", T0),
        ArmRecord("cart/customer-c1", "v1", "cart", "c1", "steps.2", "short", T0),
    ]
    await arms.record(first)
    # A retried activity records them again, a changed arm too: the first is kept.
    await arms.record([replace(first[0], arm="held_out"), first[1]])
    await arms.record([])
    # The same workflow id under another version has arms of its own.
    other = replace(first[0], version="v2", arm="held_out")
    await arms.record([other])
    assert await stores.arms_of("cart/customer-c1") == [*first, other]
    assert await stores.arms_of("cart/customer-c2") == []

"""Reaction times from the send log and held sends, in SQL (SQLite, and PostgreSQL when
configured): a customer's profile and the shop's (each reaction in its own customer's zone,
DST included), the decision the ``best_time`` activity takes from them, the console's pending
counts by local hour, and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from best_time_cases import at_local
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.send_time import Reaction
from orchestrator.engine.sendlog import SendRecord
from orchestrator.engine.timing import BestTimeRequest, SendTimeRecord, SendTiming
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.send_times import SqlSendTimes
from orchestrator.store.sendlog import SqlSendLog

ALL = ["opened", "clicked", "replied"]
#: A Tuesday, in winter (CET: UTC+1).
T0 = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)


def message(key: str, customer: str, channel: str, at: datetime, **kw: object) -> SendRecord:
    fields: dict[str, object] = dict(
        key=key,
        customer_id=customer,
        scenario="cart",
        step="steps.1",
        channel=channel,
        template="t",
        status="sent",
        at=at,
    )
    fields.update(kw)
    return SendRecord(**fields)  # type: ignore[arg-type]


async def sent_and_opened(
    log: SqlSendLog, key: str, customer: str, opened: datetime, channel: str = "email", **kw: object
) -> None:
    await log.record(message(key, customer, channel, opened - timedelta(minutes=30), **kw))
    await log.mark(key, "opened", opened)


async def test_a_customers_reactions_first_of_the_kinds_asked_newest_first(
    db: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlSendLog(db)
    # Sent, opened at 19:05, clicked at 19:20: the open is the first reaction.
    await log.record(message("a-1", "a", "email", T0 - timedelta(days=3)))
    await log.mark("a-1", "opened", T0 - timedelta(days=3) + timedelta(hours=1))
    await log.mark("a-1", "clicked", T0 - timedelta(days=3) + timedelta(hours=2))
    await sent_and_opened(log, "a-2", "a", T0 - timedelta(days=1))
    await log.record(message("a-3", "a", "push", T0 - timedelta(days=2)))
    await log.mark("a-3", "clicked", T0 - timedelta(days=2, hours=-1))
    # Not reactions of theirs: no reaction, a test send, a skip, another customer's.
    await log.record(message("a-4", "a", "email", T0))
    await sent_and_opened(log, "a-5", "a", T0, test=True)
    await log.record(message("a-6", "a", "sms", T0, status="skipped", reason="no_address"))
    await sent_and_opened(log, "b-1", "b", T0)
    times = SqlSendTimes(db)
    found = await times.of_customer("a", ALL)
    assert found == [
        Reaction(T0 - timedelta(days=1), "email", "opened"),
        Reaction(T0 - timedelta(days=2, hours=-1), "push", "clicked"),
        Reaction(T0 - timedelta(days=3) + timedelta(hours=1), "email", "opened"),
    ]
    # A scenario counting clicks only reads clicks.
    clicks = await times.of_customer("a", ["clicked"])
    assert [(r.channel, r.kind) for r in clicks] == [("push", "clicked"), ("email", "clicked")]
    assert len(await times.of_customer("a", ALL, limit=2)) == 2
    assert await times.of_customer("nobody", ALL) == []


async def test_the_shops_reactions_carry_each_customers_zone(
    db: async_sessionmaker[AsyncSession],
) -> None:
    contacts = SqlContacts(db)
    await contacts.upsert(
        "ber", ContactFields.model_validate({"timezone": "Europe/Berlin"}), source="test"
    )
    await contacts.upsert(
        "nyc", ContactFields.model_validate({"timezone": "America/New_York"}), source="test"
    )
    await contacts.upsert("plain", ContactFields.model_validate({}), source="test")
    log = SqlSendLog(db)
    for i, who in enumerate(["ber", "nyc", "plain", "gone"]):  # "gone": no contact row
        await sent_and_opened(log, f"{who}-{i}", who, T0 - timedelta(hours=i))
    times = SqlSendTimes(db, shop_sample=3)
    found = await times.of_shop(ALL)
    # The latest three, newest first; zones from the contacts ("" where none).
    assert [(r.at, r.timezone) for r in found] == [
        (T0, "Europe/Berlin"),
        (T0 - timedelta(hours=1), "America/New_York"),
        (T0 - timedelta(hours=2), ""),
    ]
    await sent_and_opened(log, "late", "ber", T0 + timedelta(hours=1))
    assert await times.of_shop(ALL) == found  # kept for shop_ttl_s
    assert (await times.shop_sample_now(ALL))[0].at == T0 + timedelta(hours=1)


async def test_the_decision_from_the_store_across_a_dst_change_and_zones(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Opens at 19:10 Berlin in summer (17:10 UTC) and in winter (18:10 UTC) are one habit;
    a customer in another zone without history gets the shop's hour in their own zone."""
    contacts = SqlContacts(db)
    await contacts.upsert(
        "ber", ContactFields.model_validate({"timezone": "Europe/Berlin"}), source="test"
    )
    await contacts.upsert(
        "tok", ContactFields.model_validate({"timezone": "Asia/Tokyo"}), source="test"
    )
    log = SqlSendLog(db)
    days = [date.date() for date in (T0 - timedelta(days=d) for d in (2, 3, 150, 151))]
    for i, day in enumerate(days):
        await sent_and_opened(log, f"ber-{i}", "ber", at_local(day, 19, 10, "Europe/Berlin"))
    assert {at_local(d, 19, 10, "Europe/Berlin").hour for d in days} == {17, 18}
    timing = SendTiming(times=SqlSendTimes(db), directory=contacts, decisions=SqlSendTimes(db))

    async def decide(customer: str, key: str) -> tuple[str, str, str]:
        result = await timing.best_time(
            BestTimeRequest(
                key=key,
                customer_id=customer,
                scenario="cart",
                step="steps.1",
                channels=["email"],
                now=T0.isoformat(),
                within_s=86400,
                kinds=ALL,
            )
        )
        return result.at, result.source, result.describe()

    assert await decide("ber", "k-ber") == (
        at_local(T0.date(), 19, 0, "Europe/Berlin").isoformat(),
        "own",
        "holding for Tue 19:00 local: 4 of 4 past opens 19–21h",
    )
    # Tokyo: the shop is all Berlin 19h; in Tokyo that is the shop's 19h, 19:00 Tokyo time.
    at, source, words = await decide("tok", "k-tok")
    assert (at, source) == (at_local(T0.date(), 19, 0, "Asia/Tokyo").isoformat(), "shop")
    assert words.endswith("no reactions of their own yet; shop-wide 4 of 4 opens 19–21h")
    pending = await SqlSendTimes(db).pending_of("tok", T0)
    assert [(p.key, p.local_hour, p.local_day, p.source) for p in pending] == [
        ("k-tok", 19, 1, "shop")
    ]


async def test_pending_sends_by_local_hour_until_sent_or_stopped(
    db: async_sessionmaker[AsyncSession],
) -> None:
    times = SqlSendTimes(db)

    def held(key: str, scenario: str, hour: int, customer: str = "c") -> SendTimeRecord:
        return SendTimeRecord(
            key=key,
            customer_id=customer,
            scenario=scenario,
            version="v1",
            step="steps.1",
            channel="email",
            decided_at=T0,
            send_at=T0 + timedelta(hours=hour),
            local_day=1,
            local_hour=hour,
            source="own",
        )

    for i, hour in enumerate([19, 19, 8, 20]):
        await times.record(held(f"k{i}", "cart", hour, customer=f"c{i}"))
    await times.record(held("other", "welcome", 19))
    await times.record(held("k3", "cart", 21, customer="c3"))  # decided again: moved
    by_hour = {p.hour: p.count for p in await times.pending_by_hour("cart", T0)}
    assert by_hour[19] == 2 and by_hour[8] == 1 and by_hour[21] == 1 and by_hour[20] == 0
    assert sum(by_hour.values()) == 4 and len(by_hour) == 24
    # A goal stopped one (the send log has its key): no longer pending; nor is one whose
    # moment has passed.
    await SqlSendLog(db).stop(
        message("k0", "c0", "email", T0, status="skipped", reason="stopped_by_goal")
    )
    later = {p.hour: p.count for p in await times.pending_by_hour("cart", T0 + timedelta(hours=9))}
    assert later[19] == 1 and later[8] == 0 and later[21] == 1
    # Erasure forgets the customer's held sends.
    await SqlContacts(db).upsert("c1", ContactFields.model_validate({}), source="test")
    assert await SqlContacts(db).erase("c1")
    assert await times.pending_of("c1", T0) == []
    assert [p.key for p in await times.pending_of("c3", T0)] == ["k3"]

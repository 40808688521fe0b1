"""The send log's contract, held by the in-memory log (the simulator's, workflow tests') and the
SQL log on SQLite and PostgreSQL alike: a sent message stays sent; a send's handover and its
run's stop are one atomic step (every key ends handed over or stopped, never both, never
neither); the frequency cap's check and the slot it takes are one atomic step."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contract_stores import Stores

from orchestrator.engine.sendlog import SendLog, SendRecord, stopped
from orchestrator.language.policy_syntax import parse_cap

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def entry(
    key: str, status: str, reason: str = "", *, channel: str = "email", at: datetime = T0
) -> SendRecord:
    """An entry of ``scenario/customer/run/...`` keys: the customer is the key's second part."""
    return SendRecord(
        key=key,
        customer_id=key.split("/")[1],
        scenario=key.split("/")[0],
        step="steps.1",
        channel=channel,
        template="cart/reminder",
        status=status,
        at=at,
        reason=reason,
        run=key.rsplit("/", 3)[0],
        version="v1",
    )


async def test_a_record_reads_back_whole_and_a_sent_one_stays_sent(stores: Stores) -> None:
    log = stores.send_log
    key = "cart/ann/r1/g0/steps.2.rung1/email"
    sent = replace(entry(key, "sent"), provider_id="<m1@x>", body='{"subject": "Hi"}')
    await log.record(sent)
    # A late retry that reports a failure must not overwrite the sent message.
    await log.record(replace(sent, status="failed", reason="x", at=T0 + timedelta(hours=1)))
    assert await log.get(key) == sent
    assert await log.get("cart/ann/r1/g0/steps.9/email") is None
    # Kept as given: changing the entry afterwards changes nothing in the log.
    mine = entry("cart/bob/r1/g0/steps.1/sms", "sent", channel="sms")
    await log.record(mine)
    mine.status = "failed"
    got = await log.get(mine.key)
    assert got is not None and got.status == "sent"


async def test_a_record_that_holds_no_slot_is_dated_by_its_keys_first_write(
    stores: Stores,
) -> None:
    log = stores.send_log
    key = "cart/cat/r1/g0/steps.1/email"
    assert await log.reserve(entry(key, "reserved"), []) is None
    later = T0 + timedelta(minutes=5)
    await log.record(entry(key, "failed", "rejected", at=later))
    failed = await log.get(key)
    assert failed is not None and (failed.status, failed.at) == ("failed", T0)
    await log.record(entry(key, "sent", at=later))
    sent = await log.get(key)
    assert sent is not None and (sent.status, sent.at) == ("sent", later)


async def test_sent_since_counts_each_customers_slots(stores: Stores) -> None:
    log = stores.send_log
    await log.record(entry("cart/ann/r1/g0/steps.1/email", "sent"))
    await log.record(
        entry("cart/ann/r1/g0/steps.2/sms", "sent", channel="sms", at=T0 + timedelta(hours=2))
    )
    await log.record(entry("cart/ann/r1/g0/steps.3/push", "skipped", "no_address", channel="push"))
    assert (
        await log.reserve(
            entry("cart/ann/r2/g0/steps.1/email", "reserved", at=T0 + timedelta(hours=3)), []
        )
        is None
    )
    await log.record(entry("cart/ann2/r1/g0/steps.1/email", "sent"))  # another customer
    window = await log.sent_since("ann", T0 - timedelta(seconds=1))
    assert sorted(window) == [
        (T0, "email"),
        (T0 + timedelta(hours=2), "sms"),
        (T0 + timedelta(hours=3), "email"),
    ]
    assert await log.sent_since("ann", T0 + timedelta(hours=2)) == [
        (T0 + timedelta(hours=3), "email")
    ]


async def test_a_reaction_is_marked_once(stores: Stores) -> None:
    log = stores.send_log
    key = "cart/dan/r1/g0/steps.1/email"
    await log.record(entry(key, "sent"))
    assert await log.mark(key, "opened", T0 + timedelta(minutes=5))
    assert not await log.mark(key, "opened", T0 + timedelta(minutes=9))  # the first one counts
    assert await log.mark(key, "clicked", T0 + timedelta(minutes=9))
    assert not await log.mark("cart/dan/r1/g0/steps.9/email", "opened", T0)  # no such message


async def test_stop_before_the_handover_refuses_it(stores: Stores) -> None:
    send, run = stores.send_logs(2)
    key = "cart/ann/r1/g0/steps.1/email"
    assert await send.reserve(entry(key, "reserved"), []) is None
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert stopped(held) and held.reason == "stopped_by_goal"
    assert await send.hand_over(entry(key, "sending")) is False
    again = await send.get(key)
    assert again is not None and stopped(again)  # the refused handover wrote nothing


async def test_stop_before_the_send_began_holds_against_its_reservation(stores: Stores) -> None:
    send, run = stores.send_logs(2)
    key = "cart/bob/r2/g0/steps.1/email"
    assert stopped(await run.stop(entry(key, "skipped", "stopped_by_exit")))
    assert await send.reserve(entry(key, "reserved"), []) is None
    assert await send.hand_over(entry(key, "sending")) is False
    held = await send.get(key)
    assert held is not None and (held.status, held.reason) == ("skipped", "stopped_by_exit")


async def test_handover_first_means_the_stop_finds_it_sent(stores: Stores) -> None:
    send, run = stores.send_logs(2)
    key = "cart/cat/r3/g0/steps.1/email"
    assert await send.reserve(entry(key, "reserved"), []) is None
    assert await send.hand_over(entry(key, "sending")) is True
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert held.status == "sending" and not stopped(held)
    await send.record(replace(entry(key, "sent"), provider_id="<m1@shop>"))
    held = await run.stop(entry(key, "skipped", "stopped_by_goal"))
    assert (held.status, held.provider_id) == ("sent", "<m1@shop>")


async def test_racing_handovers_and_stops_each_end_one_way(stores: Stores) -> None:
    """Forty sends of two customers (run keys shared by name across customers) race their
    stops: each key is exactly one of handed over / stopped, as both sides saw it."""
    send, run = stores.send_logs(2)
    keys = [f"cart/{c}/r{i % 7}/g{i}/steps.1/email" for i in range(20) for c in ("ann", "bob")]
    for key in keys:
        assert await send.reserve(entry(key, "reserved"), []) is None

    async def one(key: str, stop_first: bool) -> tuple[bool, SendRecord]:
        go = send.hand_over(entry(key, "sending"))
        halt = run.stop(entry(key, "skipped", "stopped_by_goal"))
        if stop_first:
            held, handed = await asyncio.gather(halt, go)
        else:
            handed, held = await asyncio.gather(go, halt)
        return handed, held

    results = await asyncio.gather(*(one(k, i % 2 == 0) for i, k in enumerate(keys)))
    for key, (handed, held) in zip(keys, results, strict=True):
        final = await send.get(key)
        assert final is not None
        if handed:
            assert held.status == "sending" and final.status == "sending", key
        else:
            assert stopped(held) and stopped(final), key


async def test_concurrent_scenarios_cannot_share_the_last_slot(stores: Stores) -> None:
    log = stores.send_log
    caps = [parse_cap("3 per 1d")]
    for i in range(2):  # two messages already went out today
        earlier = entry(
            f"welcome/a/r{i}/g0/steps.1/email", "reserved", at=T0 - timedelta(hours=i + 1)
        )
        assert await log.reserve(earlier, caps) is None
        await log.record(replace(earlier, status="sent"))
    # Another customer's messages never count against customer a.
    for i in range(3):
        assert await log.reserve(entry(f"cart/b/r{i}/g0/steps.1/email", "reserved"), caps) is None
    # Several processes' worth of connections race for the one slot left (customer a), and
    # for the only slot of a stricter cap (customer d, nothing sent yet).
    logs = stores.send_logs(4)
    strict = [parse_cap("1 per 1d")]
    contenders = [entry(f"s{i}/a/r/g0/steps.1/email", "reserved") for i in range(20)]
    fresh = [entry(f"s{i}/d/r/g0/steps.1/email", "reserved") for i in range(20)]
    answers = await asyncio.gather(
        *(logs[i % len(logs)].reserve(c, caps) for i, c in enumerate(contenders))
    )
    strict_answers = await asyncio.gather(
        *(logs[i % len(logs)].reserve(c, strict) for i, c in enumerate(fresh))
    )
    assert sum(a is None for a in strict_answers) == 1
    winners = [c.key for c, cap in zip(contenders, answers, strict=True) if cap is None]
    assert len(winners) == 1, winners
    for c, cap in zip(contenders, answers, strict=True):
        if cap is not None:
            assert await log.get(c.key) is None  # a refused reservation writes nothing
    held = await log.get(winners[0])
    assert held is not None and held.status == "reserved"
    assert len(await log.sent_since("a", T0 - timedelta(days=1))) == 3


async def test_a_retried_send_keeps_its_slot_and_a_failure_frees_it(stores: Stores) -> None:
    log: SendLog = stores.send_log
    caps = [parse_cap("1 sms per 7d"), parse_cap("2 per 1d")]
    first = entry("cart/c/r1/g0/steps.2.rung4/sms", "reserved", channel="sms")
    assert await log.reserve(first, caps) is None
    assert await log.reserve(first, caps) is None  # the same key again: its own slot
    other = entry("browse/c/r2/g0/steps.3/sms", "reserved", channel="sms")
    refused = await log.reserve(other, caps)
    assert refused is not None and refused.channel == "sms"
    email = entry("browse/c/r2/g0/steps.3/email", "reserved")
    assert await log.reserve(email, caps) is None  # the sms cap does not bind email
    await log.record(replace(first, status="failed", reason="rejected"))
    assert await log.reserve(other, caps) is None  # the failed send gave its slot back
    # A message sent later than the one reserved does not count against it.
    late = entry("late/e/r/g0/steps.1/email", "sent", at=T0 + timedelta(hours=1))
    await log.record(late)
    assert (
        await log.reserve(entry("now/e/r/g0/steps.1/email", "reserved"), [parse_cap("1 per 1d")])
        is None
    )


def deferred(key: str, why: str = "quiet_hours") -> SendRecord:
    return replace(entry(key, "deferred", f"{why}: until 2026-12-08T08:00:00+00:00"), held=why)


async def test_a_deferral_is_recorded_and_its_reason_outlives_it(stores: Stores) -> None:
    """Issue 23: the console counts sends held by quiet hours. The hold is an entry of its own
    while it lasts; whatever the send comes to after (sent, or stopped by the run's goal while
    held), the entry still says why it was held. Two customers, one run key each."""
    send, run = stores.send_logs(2)
    ann, bob = "cart/ann/r4/g0/steps.1/email", "cart/bob/r4/g0/steps.1/email"
    await send.defer(deferred(ann))
    await send.defer(deferred(bob, "events_pending"))
    for key, why in ((ann, "quiet_hours"), (bob, "events_pending")):
        held = await send.get(key)
        assert held is not None and (held.status, held.held) == ("deferred", why)
    # Ann's morning: reserved, handed over, sent — the hold stays on record.
    assert await send.reserve(entry(ann, "reserved"), []) is None
    assert await send.hand_over(entry(ann, "sending")) is True
    await send.record(entry(ann, "sent"))
    # Bob's run reaches its goal while his send is held: the stop wins, the hold stays.
    stop = await run.stop(entry(bob, "skipped", "stopped_by_goal"))
    assert stopped(stop)
    assert await send.hand_over(entry(bob, "sending")) is False
    found = {k: await send.get(k) for k in (ann, bob)}
    assert {k: (r.status, r.held) for k, r in found.items() if r} == {
        ann: ("sent", "quiet_hours"),
        bob: ("skipped", "events_pending"),
    }
    # A deferral never hides a handover in doubt, nor undoes an end.
    carl = "cart/carl/r5/g0/steps.1/email"
    assert await send.hand_over(entry(carl, "sending")) is True
    await send.defer(deferred(carl))
    await send.defer(deferred(ann))
    await send.defer(deferred(bob))
    after = {k: await send.get(k) for k in (ann, bob, carl)}
    assert {k: (r.status, r.held) for k, r in after.items() if r} == {
        ann: ("sent", "quiet_hours"),
        bob: ("skipped", "events_pending"),
        carl: ("sending", "quiet_hours"),
    }

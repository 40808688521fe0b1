"""Each message once: the intent is in the send log before the provider hears of it, so an
attempt after a crash knows the provider may have the message (engine/once.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from accepting import AcceptingChannel
from send_activities import NOW, activities, request
from sqlalchemy.exc import OperationalError
from temporalio.testing import ActivityEnvironment

from channels.base import Delivery, Outbound
from channels.recording import RecordingChannel
from orchestrator.engine.once import SENDING, UNCERTAIN
from orchestrator.engine.sendlog import InMemorySendLog, SendRecord


def died_after_handing_over(key: str) -> SendRecord:
    """What a worker killed between the provider call and the log write leaves behind."""
    return SendRecord(
        key=key,
        customer_id="c1",
        scenario="s",
        step="steps.1",
        channel="email",
        template="t/x",
        status=SENDING,
        at=NOW,
    )


def provider(acts: object) -> RecordingChannel:
    channel = acts.channels["email"]  # type: ignore[attr-defined]
    assert isinstance(channel, RecordingChannel)
    return channel


async def test_marketing_is_at_most_once_after_a_crash_mid_send() -> None:
    acts = activities()
    req = request("s/c1/run1/g0/steps.1/email")
    await acts.send_log.record(died_after_handing_over(req.key))
    result = await ActivityEnvironment().run(acts.send, req)
    assert result.status == "failed" and result.reason == UNCERTAIN
    assert provider(acts).sent == []  # not sent a second time
    logged = await acts.send_log.get(req.key)
    assert logged is not None and logged.status == UNCERTAIN
    again = await ActivityEnvironment().run(acts.send, req)  # and never later either
    assert again.reason == UNCERTAIN and provider(acts).sent == []


async def test_transactional_is_at_least_once_after_a_crash_mid_send() -> None:
    acts = activities()
    req = request("s/c1/run2/g0/steps.1/email", category="transactional")
    await acts.send_log.record(died_after_handing_over(req.key))
    result = await ActivityEnvironment().run(acts.send, req)
    assert result.status == "sent" and len(provider(acts).sent) == 1
    repeat = await ActivityEnvironment().run(acts.send, req)
    assert repeat.reason == "already sent" and len(provider(acts).sent) == 1


class Findable(AcceptingChannel):
    """A provider that can look its messages up (as Twilio's Messages list does)."""

    def __init__(self) -> None:
        super().__init__("email")
        self.known: dict[str, str] = {}

    async def find_sent(self, address: str, since: datetime) -> str | None:
        return self.known.get(address)


async def test_a_channel_that_can_look_up_reconciles_instead_of_guessing() -> None:
    channel = Findable()
    channel.known["alex@example.com"] = "SM-earlier"
    acts = activities(channel)
    req = request("s/c1/run3/g0/steps.1/email")
    await acts.send_log.record(died_after_handing_over(req.key))
    result = await ActivityEnvironment().run(acts.send, req)
    assert result.status == "sent" and result.provider_id == "SM-earlier"
    assert channel.sent == []
    logged = await acts.send_log.get(req.key)
    assert logged is not None and logged.status == "sent" and logged.provider_id == "SM-earlier"


class LockedLog(InMemorySendLog):
    """The store refuses the write after the provider accepted, twice (a held write lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 2

    async def record(self, entry: SendRecord) -> None:
        if entry.status == "sent" and self.refusals:
            self.refusals -= 1
            raise OperationalError("UPDATE send_log", {}, Exception("database is locked"))
        await super().record(entry)


async def test_a_failed_log_write_after_an_accepted_send_retries_the_write_not_the_send() -> None:
    acts = activities()
    acts.send_log = LockedLog()
    req = request("s/c1/run4/g0/steps.1/email")
    result = await ActivityEnvironment().run(acts.send, req)
    assert result.status == "sent" and len(provider(acts).sent) == 1
    logged = await acts.send_log.get(req.key)
    assert logged is not None and logged.status == "sent"


class Slow(AcceptingChannel):
    def __init__(self) -> None:
        super().__init__("email")

    async def send(self, out: Outbound) -> Delivery:
        import asyncio

        await asyncio.sleep(2.5)
        return await super().send(out)


async def test_a_slow_provider_call_heartbeats() -> None:
    beats: list[object] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    acts = activities(Slow())
    result = await env.run(acts.send, request("s/c1/run5/g0/steps.1/email"))
    assert result.status == "sent" and beats  # a dead worker shows within the heartbeat timeout


async def test_the_send_activity_is_scheduled_with_a_heartbeat_timeout(time_env: object) -> None:
    from pathlib import Path

    from harness import FULL_CONTACT, Run, quick_cart
    from temporalio.api.enums.v1 import EventType

    from orchestrator.engine.contacts import Contact

    scenario = quick_cart(Path(__import__("tempfile").mkdtemp()))
    async with Run(time_env, scenario, Contact.model_validate(FULL_CONTACT)) as run:  # type: ignore[arg-type]
        await run.start()
        await run.result()
        assert run.handle is not None
        history = await run.handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled and all(
        a.heartbeat_timeout.ToTimedelta() == timedelta(seconds=10) for a in scheduled
    )

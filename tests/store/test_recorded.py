"""A record-only channel's messages in the send log, on SQLite and PostgreSQL: ``recorded``,
never ``sent``; they hold no frequency-cap slot, the funnel shows them apart and counts no
delivery, and the metric says ``recorded``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from accepting import AcceptingChannel
from harness import FULL_CONTACT
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from channels.base import Channel
from channels.recording import RecordingChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.policies import FrequencyPolicy
from orchestrator.store.funnel import SqlFunnel
from orchestrator.store.sendlog import SqlSendLog

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def request(key: str, scenario: str) -> SendRequest:
    return SendRequest(
        key=key,
        scenario=scenario,
        category="marketing",
        step="steps.1",
        channel="sms",
        template="t/x",
        customer_id="c1",
        now=NOW.isoformat(),
        run={"id": f"{scenario}/c1"},
        trigger={},
        event={},
        sources={"": "{% block text %}Your basket is waiting{% endblock %}"},
    )


def activities(db: async_sessionmaker[AsyncSession], sms: Channel) -> Activities:
    return Activities(
        directory=InMemoryDirectory([Contact.model_validate(FULL_CONTACT)]),
        send_log=SqlSendLog(db),
        channels={"sms": sms},
        policy=FrequencyPolicy(caps=("1 per 1d",)),
    )


def metric(scenario: str, status: str) -> float:
    labels = {"scenario": scenario, "channel": "sms", "status": status}
    return REGISTRY.get_sample_value("omni_sends_total", labels) or 0.0


async def test_recorded_is_not_sent_holds_no_cap_and_shows_apart(
    db: async_sessionmaker[AsyncSession],
) -> None:
    scenario = f"rec_{uuid.uuid4().hex[:8]}"  # the metrics are process-wide
    env, provider = ActivityEnvironment(), RecordingChannel("sms")
    recording, log = activities(db, provider), SqlSendLog(db)
    first = await env.run(recording.send, request("rec/1", scenario))
    second = await env.run(recording.send, request("rec/2", scenario))  # under a 1/day cap
    again = await env.run(recording.send, request("rec/1", scenario))  # a retried activity
    assert len(provider.sent) == 2
    for result in (first, second, again):
        # The run goes on as after a send; its reason says what happened.
        assert result.status == "sent" and result.reason.startswith("recorded:"), result
    for key in ("rec/1", "rec/2"):
        entry = await log.get(key)
        assert entry is not None and entry.status == "recorded", entry
    assert metric(scenario, "recorded") == 3 and metric(scenario, "sent") == 0  # per result
    # A real delivery still fits the cap: recorded messages took no slot...
    delivering = activities(db, AcceptingChannel("sms"))
    assert (await env.run(delivering.send, request("real/1", scenario))).status == "sent"
    # ...and the cap then holds as before.
    capped = await env.run(delivering.send, request("real/2", scenario))
    assert capped.status == "skipped" and capped.reason.startswith("frequency_cap")
    assert len(await log.sent_since("c1", NOW - timedelta(days=1))) == 1
    got = await SqlFunnel(db).funnel(scenario, NOW - timedelta(days=1), NOW + timedelta(days=1))
    (step,) = got.steps
    assert (step.sent, step.recorded, step.delivered) == (1, 2, 0)
    assert step.skipped == {"frequency_cap": 1}

"""The send activity and the learned order obey the preference center, on both stores: a
topic turned off and a pause skip marketing with their reasons; transactional still goes; a
stated preferred channel goes first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from accepting import AcceptingChannel
from temporalio.testing import ActivityEnvironment
from tests_store_url import database_url

from channels.base import Outbound, Rendered
from channels.email_message import build
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.learning import Learning
from orchestrator.engine.learning_messages import RankRequest
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.preferences import Change
from orchestrator.engine.tracking import Tracker
from orchestrator.language.model import CHANNELS
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.preferences import SqlPreferences
from orchestrator.store.sendlog import SqlSendLog

SOURCE = {"": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def acts(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Activities]:
    async for url in database_url(request.param, tmp_path):
        engine = make_engine(url)
        factory = sessions(engine)
        contacts = SqlContacts(factory)
        for cid in ("p1", "p2"):  # overlapping: the same email
            fields = ContactFields(email="same@example.com", consents={"email": True})
            await contacts.upsert(cid, fields, source="api")
        yield Activities(
            directory=contacts,
            send_log=SqlSendLog(factory),
            channels={c: AcceptingChannel(c) for c in CHANNELS},
            tracker=Tracker(b"s" * 32, "http://127.0.0.1:9"),
            preferences=SqlPreferences(factory, contacts),
        )
        await engine.dispose()


def request(cid: str, key: str, *, topic: str = "", category: str = "marketing") -> SendRequest:
    return SendRequest(
        key=f"wf-{cid}/{key}",
        scenario="s",
        category=category,
        topic=topic,
        step="steps.0",
        channel="email",
        template="x/hello",
        sources=SOURCE,
        customer_id=cid,
        now=datetime.now(UTC).isoformat(),
        run={"id": f"s/{cid}"},
        trigger={},
        event={},
    )


async def test_topic_off_and_pause_skip_marketing_only(acts: Activities) -> None:
    prefs = acts.preferences
    assert isinstance(prefs, SqlPreferences)
    now = datetime.now(UTC)
    await prefs.change("p1", Change(topics={"webinars": False}), actor="t", now=now)
    env = ActivityEnvironment()
    off = await env.run(acts.send, request("p1", "a", topic="webinars"))
    assert (off.status, off.reason) == ("skipped", "topic_off: webinars")
    other = await env.run(acts.send, request("p1", "b", topic="cart_reminders"))
    assert other.status == "sent"
    same_email = await env.run(acts.send, request("p2", "a", topic="webinars"))
    assert same_email.status == "sent"  # p2 shares the address, not the choice
    await prefs.change("p1", Change(paused_until=now + timedelta(days=7)), actor="t", now=now)
    paused = await env.run(acts.send, request("p1", "c", topic="cart_reminders"))
    assert paused.status == "skipped" and paused.reason.startswith("paused_by_customer")
    receipt = await env.run(
        acts.send, request("p1", "d", topic="webinars", category="transactional")
    )
    assert receipt.status == "sent"
    await prefs.change("p1", Change(clear_pause=True), actor="t", now=now)
    resumed = await env.run(acts.send, request("p1", "e", topic="cart_reminders"))
    assert resumed.status == "sent"


async def test_a_stated_preferred_channel_goes_first(acts: Activities) -> None:
    prefs = acts.preferences
    assert isinstance(prefs, SqlPreferences)
    learning = Learning.beside(acts)
    ask = RankRequest(customer_id="p1", channels=["email", "telegram", "sms"], kinds=["clicked"])
    env = ActivityEnvironment()
    before = await env.run(learning.rank_channels, ask)
    assert before.order == [0, 1, 2]
    await prefs.change("p1", Change(preferred_channel="sms"), actor="t", now=datetime.now(UTC))
    after = await env.run(learning.rank_channels, ask)
    assert after.order == [2, 0, 1] and "preferred" in after.explanation
    other = await env.run(learning.rank_channels, RankRequest("p2", ask.channels, ask.kinds))
    assert other.order == [0, 1, 2]


def test_every_email_links_the_preference_center_beside_unsubscribe() -> None:
    tracker = Tracker(b"s" * 32, "https://omni.example")
    out = Outbound(
        key="k",
        channel="email",
        address="a@example.com",
        message=Rendered("email", "en", subject="s", html="<p>h</p>", text="h"),
        customer_id="p1",
        scenario="s",
        template="x/hello",
        unsubscribe_url=tracker.unsubscribe_url(customer_id="p1", channel="email"),
        preferences_url=tracker.preferences_url(customer_id="p1", channel="email"),
    )
    raw = build(out, sender="shop@example.com").as_string()
    assert "https://omni.example/p/" in raw and "Manage your preferences" in raw
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert "p1" not in out.preferences_url

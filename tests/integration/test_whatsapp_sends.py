"""WhatsApp sends through the send activity: a migrated SQLite store (contacts, send log,
inbound messages), the real WhatsApp adapter and the local Twilio API. Every assertion reads
what reached Twilio as it came over the wire.

- the 24-hour window: free text inside it, the approved template outside, skipped without one;
- consent, address (never the SMS phone) and suppression skips;
- hostile data in variables arrives as exactly that JSON string, for its own customer only;
- after a crash mid-send, the Messages list (To=whatsapp:+...) is asked instead of resending.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from accepting import AcceptingChannel
from peers.twilio_api import TwilioPeer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment
from tests_store_url import migrated_sqlite

from channels.base import Outbound, Rendered
from channels.settings import WhatsappSettings
from channels.sms import twilio_client
from channels.whatsapp import WhatsappChannel
from orchestrator.api.serve import serving
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.messages import SendRequest, SendResult
from orchestrator.engine.once import SENDING
from orchestrator.engine.resolve import resolve
from orchestrator.language.model import CHANNELS, ContentTemplate
from orchestrator.store.addresses import address_hash
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.inbound import InboundMessages
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tables import InboundRow

SID = "HX" + "5f" * 16
FREE_TEXT = "{% block text %}Hi {{ contact.first_name }}, cart {{ cart.id }}{% endblock %}"
APPROVED = ContentTemplate(
    SID, {"1": "contact.first_name", "2": "cart.note", "3": "link(cart.url)"}
)


@dataclass
class Stack:
    twilio: TwilioPeer
    contacts: SqlContacts
    factory: async_sessionmaker[AsyncSession]
    acts: Activities
    channel: WhatsappChannel

    async def contact(self, cid: str, **fields: Any) -> None:
        base = {"first_name": "Ana", "consents": {"whatsapp": True}}
        await self.contacts.upsert(
            cid, ContactFields.model_validate({**base, **fields}), source="test"
        )

    async def wrote(self, number: str, ago: timedelta, sid: str = "") -> None:
        """The customer's last WhatsApp message to us, ``ago`` before now."""
        async with self.factory() as s, s.begin():
            s.add(
                InboundRow(
                    sid=sid or f"SM{number[1:]}{int(ago.total_seconds())}",
                    channel="whatsapp",
                    address_hash=address_hash("whatsapp", number),
                    action="reply",
                    received_at=datetime.now(UTC) - ago,
                )
            )

    async def send(self, cid: str, key: str = "", **changes: Any) -> SendResult:
        req = request(cid, key or f"run-{cid}/g0/steps.1/whatsapp", **changes)
        return await ActivityEnvironment().run(self.acts.send, req)

    def wire(self) -> list[dict[str, str]]:
        """Every accepted request, as sent (a field given twice would fail here)."""
        out = []
        for raw in self.twilio.wire:
            form = parse_qs(raw.decode("ascii"), keep_blank_values=True)
            assert all(len(v) == 1 for v in form.values())
            out.append({k: v[0] for k, v in form.items()})
        return out


def request(cid: str, key: str, **changes: Any) -> SendRequest:
    req = SendRequest(
        key=key,
        scenario="cart",
        category="marketing",
        step="steps.1",
        channel="whatsapp",
        template="cart/reminder",
        sources={"": FREE_TEXT},
        content={"": APPROVED},
        customer_id=cid,
        now=datetime.now(UTC).isoformat(),
        run={"id": f"cart/customer-{cid}"},
        trigger={"cart": {"id": f"c-{cid}", "note": "hi", "url": "https://shop.example/c"}},
        event={},
    )
    for name, value in changes.items():
        setattr(req, name, value)
    return req


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    engine = make_engine(await migrated_sqlite(tmp_path))
    factory = sessions(engine)
    contacts = SqlContacts(factory)
    twilio = TwilioPeer()
    async with serving(twilio.app()) as base:
        settings = WhatsappSettings(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            from_number="+15005550001",
            base_url=base,
            messages_per_second=1000,
        )
        channel = WhatsappChannel(settings, twilio_client(settings))
        channels: dict[str, Any] = {c: AcceptingChannel(c) for c in CHANNELS}
        channels["whatsapp"] = channel
        acts = Activities(
            directory=contacts,
            send_log=SqlSendLog(factory),
            channels=channels,
            inbound=InboundMessages(factory, contacts),
        )
        yield Stack(twilio, contacts, factory, acts, channel)
        await channel.close()
    await engine.dispose()
    assert twilio.violations == [], "requests the real Twilio API would reject"


async def test_inside_the_window_free_text_goes(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    await stack.wrote("+15005550006", timedelta(hours=23))
    result = await stack.send("a")
    assert result.status == "sent"
    assert stack.wire() == [
        {"To": "whatsapp:+15005550006", "From": "whatsapp:+15005550001", "Body": "Hi Ana, cart c-a"}
    ]


async def test_after_the_window_the_approved_template_goes(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    await stack.wrote("+15005550006", timedelta(hours=25))
    assert (await stack.send("a")).status == "sent"
    [got] = stack.wire()
    assert "Body" not in got and got["ContentSid"] == SID
    assert got["ContentVariables"] == '{"1":"Ana","2":"hi","3":"https://shop.example/c"}'


async def test_the_latest_inbound_message_counts(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    await stack.wrote("+15005550006", timedelta(hours=30))
    await stack.wrote("+15005550006", timedelta(minutes=5))
    await stack.send("a")
    assert "Body" in stack.wire()[0]


async def test_another_numbers_message_opens_no_window(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    await stack.wrote("+15005550007", timedelta(minutes=5))
    await stack.send("a")
    assert stack.wire()[0]["ContentSid"] == SID


async def test_inside_the_window_without_free_text_the_template_goes(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    await stack.wrote("+15005550006", timedelta(hours=1))
    await stack.send("a", sources={})
    assert stack.wire()[0]["ContentSid"] == SID


@pytest.mark.parametrize(
    ("ago", "why"),
    [
        (timedelta(hours=25), "last inbound message >24h ago"),
        (None, "no inbound WhatsApp message on record"),
    ],
)
async def test_closed_window_without_a_template_is_skipped(
    stack: Stack, ago: timedelta | None, why: str
) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    if ago is not None:
        await stack.wrote("+15005550006", ago)
    result = await stack.send("a", content={})
    assert (result.status, result.reason) == (
        "skipped",
        f"whatsapp_session_closed: no content template and {why}",
    )
    assert stack.twilio.wire == []
    logged = await stack.acts.send_log.get("run-a/g0/steps.1/whatsapp")
    assert logged is not None and logged.status == "skipped"


@pytest.mark.parametrize(
    ("fields", "category", "reason"),
    [
        # The SMS phone is never used for WhatsApp.
        ({"phone": "+15005550006"}, "marketing", "no_address: no whatsapp address on file"),
        (
            {"whatsapp": "+15005550006", "consents": {"sms": True}},
            "marketing",
            "no_consent: never granted",
        ),
        (
            {"whatsapp": "+15005550006", "consents": {"whatsapp": False}},
            "marketing",
            "no_consent: customer refused",
        ),
    ],
)
async def test_consent_and_address_skips(
    stack: Stack, fields: dict[str, Any], category: str, reason: str
) -> None:
    await stack.contact("a", **fields)
    result = await stack.send("a", category=category)
    assert (result.status, result.reason) == ("skipped", reason)
    assert stack.twilio.wire == []


async def test_a_suppressed_number_is_skipped_and_transactional_needs_no_consent(
    stack: Stack,
) -> None:
    await stack.contact("a", whatsapp="+15005550006", consents={})
    assert (await stack.send("a", category="transactional")).status == "sent"
    await stack.contacts.suppress("a", "whatsapp", "stop")
    result = await stack.send("a", key="k2", category="transactional")
    assert (result.status, result.reason) == ("skipped", "suppressed: stop")
    assert len(stack.twilio.wire) == 1


async def test_stop_from_twilio_suppresses_whatsapp_only(stack: Stack) -> None:
    await stack.contact(
        "a", whatsapp="+15005550009", phone="+15005550009", consents={"whatsapp": True}
    )
    stack.twilio.failures["+15005550009"] = (400, 21610, {})
    result = await stack.send("a")
    assert (result.status, result.reason) == ("failed", "unsubscribed")
    contact = await stack.contacts.get("a")
    assert contact is not None and contact.suppressions == {"whatsapp": "unsubscribed"}


HOSTILE = [
    '<b>Ana</b> <script>alert("x")</script> &amp;',
    "line\r\nbreak\rcarriage\nfeed\ttab",
    "x" * 100_000,
    "𝄞 Привет 你好 e\u0301 \u200b \u2028 😀",
    '","2":"injected","3":"',
    'back\\slash \\\\ \\" \\u0041 \\n',
    "{{1}} {{2}} {% if true %}x{% endif %} {# c #}",
    "'; DROP TABLE contacts; --",
    "\ud800 lone surrogate",
]


async def test_hostile_values_arrive_exactly_and_only_for_their_customer(stack: Stack) -> None:
    """Customers sent to at once (interleaved on one channel), each with hostile data and a
    marker of their own: each request carries exactly its customer's values as JSON strings."""
    customers = {f"h{i}": f"+1500555{1000 + i}" for i in range(len(HOSTILE))}
    # (The store keeps names as UTF-8: a lone surrogate reaches a variable through event data.)
    names = {
        cid: f"N{i} " + HOSTILE[i][:50].encode(errors="ignore").decode()
        for i, cid in enumerate(customers)
    }
    for cid, number in customers.items():
        await stack.contact(cid, whatsapp=number, first_name=names[cid])
    trigger = {
        cid: {
            "cart": {
                "id": cid,
                "note": f"{HOSTILE[i]} <{cid}>",
                "url": f"https://shop.example/c?{cid}=1&x=%22",
            }
        }
        for i, cid in enumerate(customers)
    }
    results = await asyncio.gather(
        *(stack.send(cid, trigger=trigger[cid]) for cid in reversed(customers))
    )
    assert {r.status for r in results} == {"sent"}
    sent = {m["To"]: m for m in stack.wire()}
    assert len(sent) == len(customers)
    for i, (cid, number) in enumerate(customers.items()):
        got = sent[f"whatsapp:{number}"]
        expected = {
            "1": names[cid],
            "2": f"{HOSTILE[i]} <{cid}>",
            "3": f"https://shop.example/c?{cid}=1&x=%22",
        }
        assert got["ContentVariables"] == json.dumps(expected, separators=(",", ":"))
        assert json.loads(got["ContentVariables"]) == expected
        others = [f"<{o}>" for o in customers if o != cid]
        assert not any(marker in got["ContentVariables"] for marker in others)


async def test_after_a_crash_mid_send_twilio_is_asked_not_sent_again(stack: Stack) -> None:
    await stack.contact("a", whatsapp="+15005550006")
    key = "run-a/g0/steps.1/whatsapp"
    req = request("a", key)
    earlier = datetime.now(UTC) - timedelta(seconds=2)
    send = await resolve(req, stack.acts.definitions, stack.acts.events)
    await stack.acts._record(send, earlier, SENDING)  # the intent, then the worker died
    first = await stack.channel.send(  # what the attempt that died had handed over
        Outbound(
            key=key,
            channel="whatsapp",
            address="+15005550006",
            message=Rendered(channel="whatsapp", locale="", content_sid=SID),
            customer_id="a",
            scenario="cart",
            template="cart/reminder",
        )
    )
    result = await stack.send("a")
    assert (result.status, result.reason, result.provider_id) == (
        "sent",
        "already sent",
        first.provider_id,
    )
    assert len(stack.twilio.wire) == 1

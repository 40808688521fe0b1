"""The WhatsApp adapter against the local Twilio API, which checks every request against
Twilio's spec (ContentSid pattern, whatsapp: on both ends, Body or ContentSid, ContentVariables
a JSON object of strings). Assertions read the request bodies as they came over the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from peers.twilio_api import TwilioPeer

from channels.base import ChannelMisconfigured, Outbound, PermanentChannelError, Rendered
from channels.settings import WhatsappSettings
from channels.sms import twilio_client
from channels.whatsapp import WhatsappChannel
from orchestrator.api.serve import serving

SID = "HX" + "0123456789abcdef" * 2


@pytest.fixture
async def peer() -> AsyncIterator[tuple[TwilioPeer, str]]:
    twilio = TwilioPeer()
    async with serving(twilio.app()) as base:
        yield twilio, base
    assert twilio.violations == [], "requests the real Twilio API would reject"


def channel(peer: tuple[TwilioPeer, str], **changes: object) -> WhatsappChannel:
    twilio, base = peer
    settings = WhatsappSettings(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        from_number="+15005550001",
        base_url=base,
        status_callback_url="https://omni.test/webhooks/twilio/status",
        messages_per_second=1000,
    )
    settings = WhatsappSettings(**{**settings.__dict__, **changes})
    return WhatsappChannel(settings, twilio_client(settings))


def message(to: str = "+15005550006", **fields: object) -> Outbound:
    return Outbound(
        key="k",
        channel="whatsapp",
        address=to,
        customer_id="42",
        scenario="cart",
        template="cart/reminder",
        message=Rendered(channel="whatsapp", locale="", **fields),  # type: ignore[arg-type]
    )


def wire(twilio: TwilioPeer, i: int = -1) -> dict[str, list[str]]:
    """The i-th request's form exactly as it was encoded (repeated keys would show)."""
    return parse_qs(twilio.wire[i].decode("ascii"), keep_blank_values=True)


async def test_free_text_goes_as_body_between_whatsapp_addresses(
    peer: tuple[TwilioPeer, str],
) -> None:
    ch = channel(peer)
    await ch.check()
    delivery = await ch.send(message(text="Your cart is waiting"))
    await ch.close()
    got = wire(peer[0])
    assert got == {
        "To": ["whatsapp:+15005550006"],
        "From": ["whatsapp:+15005550001"],
        "Body": ["Your cart is waiting"],
        "StatusCallback": ["https://omni.test/webhooks/twilio/status"],
    }
    assert delivery.provider_id == peer[0].messages[0]["sid"]


async def test_an_approved_template_goes_as_content_sid_and_json_variables(
    peer: tuple[TwilioPeer, str],
) -> None:
    ch = channel(peer, messaging_service_sid="MG" + "a" * 32, from_number="")
    await ch.send(message(content_sid=SID, content_variables={"1": "Alex", "2": "€59.90"}))
    await ch.close()
    got = wire(peer[0])
    assert got == {
        "To": ["whatsapp:+15005550006"],
        "MessagingServiceSid": ["MG" + "a" * 32],
        "ContentSid": [SID],
        "ContentVariables": ['{"1":"Alex","2":"\\u20ac59.90"}'],
        "StatusCallback": ["https://omni.test/webhooks/twilio/status"],
    }
    assert json.loads(got["ContentVariables"][0]) == {"1": "Alex", "2": "€59.90"}


async def test_a_template_without_variables_sends_none(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer)
    await ch.send(message(content_sid=SID))
    await ch.close()
    assert "ContentVariables" not in wire(peer[0]) and "Body" not in wire(peer[0])


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"text": "hi", "content_sid": SID}, "not both"),
        ({}, "not neither"),
        ({"text": "x" * 1601}, "too_long: 1,601 characters"),
    ],
)
async def test_messages_twilio_would_refuse_never_leave(
    peer: tuple[TwilioPeer, str], fields: dict[str, str], reason: str
) -> None:
    ch = channel(peer)
    with pytest.raises(PermanentChannelError, match=reason):
        await ch.send(message(**fields))
    await ch.close()
    assert peer[0].wire == []


async def test_stop_on_whatsapp_suppresses(peer: tuple[TwilioPeer, str]) -> None:
    peer[0].failures["+15005550009"] = (400, 21610, {})
    ch = channel(peer)
    with pytest.raises(PermanentChannelError) as info:
        await ch.send(message("+15005550009", text="hi"))
    await ch.close()
    assert info.value.reason.startswith("unsubscribed") and info.value.suppress


async def test_sent_messages_are_found_by_their_whatsapp_address(
    peer: tuple[TwilioPeer, str],
) -> None:
    ch = channel(peer)
    before = datetime.now(UTC) - timedelta(seconds=5)
    delivery = await ch.send(message(text="hi"))
    assert await ch.find_sent("+15005550006", before) == delivery.provider_id
    assert await ch.find_sent("+15005550007", before) is None
    await ch.close()


async def test_a_sender_is_required() -> None:
    settings = WhatsappSettings(account_sid="AC" + "0" * 32, auth_token="t")
    client = twilio_client(settings)
    with pytest.raises(ChannelMisconfigured, match="OMNI_WHATSAPP_FROM"):
        WhatsappChannel(settings, client)
    await client.http_client.close()


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"ContentSid": "HX123"}, "ContentSid does not match"),
        ({"Body": "a", "ContentSid": SID}, "exactly one"),
        ({"ContentSid": SID, "ContentVariables": '{"1": 2}'}, "JSON object of strings"),
        ({"ContentSid": SID, "ContentVariables": '["a"]'}, "JSON object of strings"),
        ({"ContentSid": SID, "ContentVariables": "{'1': 'a'}"}, "JSON object of strings"),
        ({"Body": "a", "ContentVariables": '{"1":"a"}'}, "without ContentSid"),
        ({"Body": "a", "From": "+15005550001"}, "one end only"),
        ({"Body": "a", "To": "whatsapp:15005550006"}, "whatsapp:+E.164"),
    ],
)
async def test_the_peer_refuses_what_the_contract_does_not_allow(
    peer: tuple[TwilioPeer, str], form: dict[str, str], problem: str
) -> None:
    """The peer's own checks, so a passing adapter test means something."""
    twilio, base = peer
    full = {"To": "whatsapp:+15005550006", "From": "whatsapp:+15005550001", **form}
    async with httpx.AsyncClient(auth=(twilio.account_sid, twilio.auth_token)) as http:
        answer = await http.post(
            f"{base}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json", data=full
        )
    assert answer.status_code == 400
    assert any(problem in v for v in twilio.violations), twilio.violations
    twilio.violations.clear()

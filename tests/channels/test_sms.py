"""The SMS adapter against a local Twilio API that checks requests against Twilio's spec."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from peers.twilio_api import TwilioPeer

from channels.base import (
    ChannelMisconfigured,
    Outbound,
    PermanentChannelError,
    Rendered,
    TransientChannelError,
)
from channels.settings import SmsSettings
from channels.sms import SmsChannel, twilio_client
from orchestrator.api.serve import serving


@pytest.fixture
async def peer() -> AsyncIterator[tuple[TwilioPeer, str]]:
    twilio = TwilioPeer()
    async with serving(twilio.app()) as base:
        yield twilio, base
    assert twilio.violations == [], "requests the real Twilio API would reject"


def channel(peer: tuple[TwilioPeer, str], **changes: object) -> SmsChannel:
    twilio, base = peer
    settings = SmsSettings(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        from_number="+15005550001",
        base_url=base,
        status_callback_url="https://omni.test/webhooks/twilio/status",
        messages_per_second=1000,
    )
    for name, value in changes.items():
        settings = SmsSettings(**{**settings.__dict__, name: value})
    return SmsChannel(settings, twilio_client(settings))


def sms(text: str = "Last call: your cart expires soon", to: str = "+15005550006") -> Outbound:
    return Outbound(
        key="k",
        channel="sms",
        address=to,
        customer_id="42",
        scenario="cart",
        template="cart/last_call",
        message=Rendered(channel="sms", locale="", text=text),
    )


async def test_send_reaches_twilio_with_every_field(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer)
    await ch.check()
    delivery = await ch.send(sms())
    await ch.close()
    [got] = peer[0].messages
    assert delivery.provider_id == got["sid"] and got["sid"].startswith("SM")
    assert (got["To"], got["From"], got["Body"]) == (
        "+15005550006",
        "+15005550001",
        "Last call: your cart expires soon",
    )
    assert got["StatusCallback"] == "https://omni.test/webhooks/twilio/status"


async def test_messaging_service(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer, messaging_service_sid="MG" + "1" * 32, from_number="")
    await ch.send(sms())
    await ch.close()
    [first] = peer[0].messages
    assert first["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in first


@pytest.mark.parametrize(
    ("status", "code", "reason", "suppress"),
    [
        (400, 21610, "unsubscribed", True),
        (400, 21211, "invalid_address", True),
        (400, 21408, "rejected", False),
    ],
)
async def test_permanent_errors(
    peer: tuple[TwilioPeer, str], status: int, code: int, reason: str, suppress: bool
) -> None:
    peer[0].failures["+15005550009"] = (status, code, {})
    ch = channel(peer)
    with pytest.raises(PermanentChannelError) as info:
        await ch.send(sms(to="+15005550009"))
    await ch.close()
    assert info.value.reason.startswith(reason) and info.value.suppress is suppress


async def test_rate_limit_and_server_errors_are_transient(peer: tuple[TwilioPeer, str]) -> None:
    peer[0].failures["+15005550010"] = (429, 20429, {"Retry-After": "7"})
    peer[0].failures["+15005550011"] = (503, 20500, {})
    ch = channel(peer)
    with pytest.raises(TransientChannelError) as info:
        await ch.send(sms(to="+15005550010"))
    assert info.value.retry_after == 7.0
    with pytest.raises(TransientChannelError):
        await ch.send(sms(to="+15005550011"))
    await ch.close()


async def test_too_many_segments_never_reach_twilio(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer, max_segments=1)
    with pytest.raises(PermanentChannelError, match="too_long: 2 UCS-2 segments"):
        await ch.send(sms("Привет! " * 10))
    await ch.close()
    assert peer[0].messages == []


async def test_bad_credentials_fail_the_check(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer, auth_token="wrong-token")
    with pytest.raises(ChannelMisconfigured, match="credentials rejected") as info:
        await ch.check()
    await ch.close()
    assert "wrong-token" not in str(info.value)


async def test_sender_rate_is_shared(peer: tuple[TwilioPeer, str]) -> None:
    ch = channel(peer, messages_per_second=20.0)
    start = time.perf_counter()
    await asyncio.gather(*(ch.send(sms()) for _ in range(41)))
    elapsed = time.perf_counter() - start
    await ch.close()
    assert elapsed >= 0.9  # a burst of 20, then 21 more at 20 a second
    assert len(peer[0].messages) == 41


async def test_a_message_twilio_accepted_can_be_found_after_a_crash(
    peer: tuple[TwilioPeer, str],
) -> None:
    """Messages list by To and DateSent (checked against the spec's query parameters): what a
    send after a crash mid-send asks instead of sending twice."""
    from datetime import UTC, datetime, timedelta

    ch = channel(peer)
    before = datetime.now(UTC) - timedelta(seconds=5)
    delivery = await ch.send(sms(to="+15005550006"))
    await ch.send(sms(to="+15005550009"))
    assert await ch.find_sent("+15005550006", before) == delivery.provider_id
    assert await ch.find_sent("+15005550010", before) is None  # nothing to that number
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await ch.find_sent("+15005550006", later) is None  # nothing since the intent
    await ch.close()

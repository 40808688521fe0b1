"""The web push adapter against a local push service that decrypts and verifies VAPID."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from peers.push_service import PushService

from channels.base import (
    ChannelMisconfigured,
    Outbound,
    PermanentChannelError,
    Rendered,
    TransientChannelError,
)
from channels.push import PushChannel
from channels.settings import PushSettings
from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import serving

PRIVATE, PUBLIC = generate_vapid_keys()


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    push = PushService()
    async with serving(push.app()) as base:
        push.base = base
        yield push
    assert push.violations == []


async def channel(**changes: object) -> PushChannel:
    settings = PushSettings(
        vapid_private_key=PRIVATE, subject="mailto:ops@shop.example", ttl=3600, urgency="high"
    )
    settings = PushSettings(**{**settings.__dict__, **changes})
    return PushChannel(settings, aiohttp.ClientSession())


def note(subs: list[dict[str, object]]) -> Outbound:
    message = Rendered(
        channel="push",
        locale="",
        title="Your cart",
        body="Still there",
        url="https://t.shop.example/t/c/TOKEN",
        icon="https://shop.example/i.png",
    )
    return Outbound(
        key="cart/cart-1/g0/steps.2.rung2/push",
        channel="push",
        address=subs,
        message=message,
        customer_id="42",
        scenario="cart",
        template="cart/reminder",
    )


async def test_every_device_gets_the_decryptable_payload(service: PushService) -> None:
    ch = await channel(trusted_origins=(service.base,))
    await ch.check()
    subs = [service.subscribe("phone"), service.subscribe("laptop")]
    delivery = await ch.send(note(subs))
    await ch.close()
    assert sorted(r["device"] for r in service.received) == ["laptop", "phone"]
    got = service.received[0]
    assert got["payload"] == {
        "title": "Your cart",
        "body": "Still there",
        "url": "https://t.shop.example/t/c/TOKEN",
        "icon": "https://shop.example/i.png",
        "key": "cart/cart-1/g0/steps.2.rung2/push",
    }
    assert (got["ttl"], got["urgency"], got["sub"]) == ("3600", "high", "mailto:ops@shop.example")
    assert delivery.gone == [] and "/push/" in delivery.provider_id


async def test_gone_subscriptions_are_reported_for_deletion(service: PushService) -> None:
    ch = await channel(trusted_origins=(service.base,))
    alive, dead = service.subscribe("alive"), service.subscribe("dead")
    service.answers["dead"] = (410, {})
    delivery = await ch.send(note([alive, dead]))
    assert delivery.gone == [dead["endpoint"]]
    service.answers["alive"] = (404, {})
    with pytest.raises(PermanentChannelError) as info:
        await ch.send(note([alive, dead]))
    await ch.close()
    assert info.value.reason.startswith("expired") and len(info.value.gone) == 2


async def test_rate_limit_and_outage_are_transient(service: PushService) -> None:
    ch = await channel(trusted_origins=(service.base,))
    sub = service.subscribe("busy")
    service.answers["busy"] = (429, {"Retry-After": "30"})
    with pytest.raises(TransientChannelError) as info:
        await ch.send(note([sub]))
    assert info.value.retry_after == 30.0
    service.answers["busy"] = (503, {})
    with pytest.raises(TransientChannelError):
        await ch.send(note([sub]))
    await ch.close()


async def test_too_large_is_permanent(service: PushService) -> None:
    ch = await channel(trusted_origins=(service.base,))
    sub = service.subscribe("small")
    service.answers["small"] = (413, {})
    with pytest.raises(PermanentChannelError, match="too large"):
        await ch.send(note([sub]))
    await ch.close()


async def test_bad_configuration_fails_the_check() -> None:
    bad_key = await channel(vapid_private_key="not a key")
    with pytest.raises(ChannelMisconfigured, match="VAPID private key"):
        await bad_key.check()
    await bad_key.close()
    bad_subject = await channel(subject="ops@shop.example")
    with pytest.raises(ChannelMisconfigured, match="subject"):
        await bad_subject.check()
    await bad_subject.close()

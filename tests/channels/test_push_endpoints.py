"""Push endpoints are checked again at send time, after DNS resolution: a name that resolves to
a loopback, private, link-local or metadata address is refused for good (and the subscription
dropped); the worker's HTTP session cannot connect there either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from harness import PUSH_KEYS
from peers.push_service import PushService
from temporalio.testing import ActivityEnvironment

from channels.base import Outbound, PermanentChannelError, Rendered
from channels.endpoints import resolved_problem
from channels.push import PushChannel, push_session
from channels.settings import PushSettings
from channels.vapid import generate_vapid_keys
from orchestrator.api.serve import serving
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.sendlog import InMemorySendLog

PRIVATE, _ = generate_vapid_keys()


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    push = PushService()
    async with serving(push.app()) as base:
        push.base = base
        yield push


def settings(service: PushService) -> PushSettings:
    return PushSettings(
        vapid_private_key=PRIVATE,
        subject="mailto:ops@shop.example",
        trusted_origins=(service.base,),
    )


def note(subs: list[dict[str, object]]) -> Outbound:
    message = Rendered(channel="push", locale="", title="t", body="b")
    return Outbound("k", "push", subs, message, customer_id="42", scenario="s", template="t/x")


def on_localhost(service: PushService, device: str, scheme: str = "https") -> dict[str, object]:
    """The peer's subscription, addressed by the name ``localhost`` (resolves to 127.0.0.1)."""
    sub = service.subscribe(device)
    port = urlsplit(service.base).port
    return {**sub, "endpoint": f"{scheme}://localhost:{port}/push/{device}"}


async def test_a_name_resolving_to_loopback_is_refused_for_good(service: PushService) -> None:
    channel = PushChannel(settings(service), aiohttp.ClientSession())
    hostile = [on_localhost(service, "a"), on_localhost(service, "b", "http")]
    with pytest.raises(PermanentChannelError) as info:
        await channel.send(note(hostile))
    assert info.value.reason.startswith("invalid_address: push endpoint refused")
    assert info.value.gone == [s["endpoint"] for s in hostile]
    # A good subscription beside a hostile one still gets its notification.
    good = service.subscribe("good")
    delivery = await channel.send(note([on_localhost(service, "c"), good]))
    await channel.close()
    assert delivery.gone == [f"https://localhost:{urlsplit(service.base).port}/push/c"]
    assert [r["device"] for r in service.received] == ["good"]


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "::ffff:169.254.169.254", "fd00::1"],
)
async def test_public_names_with_private_addresses_are_refused(
    service: PushService, address: str
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14", address]  # one public address is not enough

    channel = PushChannel(settings(service), aiohttp.ClientSession(), resolve=resolve)
    sub: dict[str, Any] = {"endpoint": "https://push.example.com/send/1", "keys": PUSH_KEYS}
    with pytest.raises(PermanentChannelError, match="resolves to"):
        await channel.send(note([sub]))
    await channel.close()
    assert service.received == []
    assert await resolved_problem(sub["endpoint"], resolve=resolve) is not None


async def test_the_activity_drops_a_stored_hostile_subscription(service: PushService) -> None:
    # Stored before stores checked endpoints: the model takes its shape, only a store's
    # policy (or the channel's, here) refuses the host.
    contacts = [
        Contact.model_validate(
            {
                "id": f"p{i}",
                "push_subscriptions": [on_localhost(service, f"d{i}")],
                "consents": {"push": True},
            }
        )
        for i in range(2)
    ]
    directory = InMemoryDirectory(contacts)
    channel = PushChannel(settings(service), push_session(settings(service)))
    log = InMemorySendLog()
    acts = Activities(directory=directory, send_log=log, channels={"push": channel})
    for contact in contacts:
        req = SendRequest(
            key=f"s/{contact.id}/g0/steps.0/push",
            scenario="s",
            category="marketing",
            step="steps.0",
            channel="push",
            template="t/x",
            customer_id=contact.id,
            now=datetime(2026, 11, 24, 12, tzinfo=UTC).isoformat(),
            run={"id": f"s/{contact.id}"},
            trigger={},
            event={},
            sources={"": "{% block title %}t{% endblock %}{% block body %}b{% endblock %}"},
        )
        result = await ActivityEnvironment().run(acts.send, req)
        assert result.status == "failed"
        # History keeps the reason code; the provider's words go to the send log only.
        assert result.reason == "invalid_address"
        logged = await log.get(req.key)
        assert logged is not None and logged.reason.startswith("invalid_address: push endpoint")
        assert "localhost" in logged.reason
        stored = await directory.get(contact.id)
        assert stored is not None and stored.push_subscriptions == []
    await channel.close()
    assert service.received == []


async def test_the_worker_session_connects_to_public_or_trusted_hosts_only(
    service: PushService,
) -> None:
    port = urlsplit(service.base).port
    refusing = push_session(PushSettings(vapid_private_key=PRIVATE, subject="mailto:o@x.example"))
    with pytest.raises(aiohttp.ClientError):
        await refusing.post(f"http://localhost:{port}/push/x")
    await refusing.close()
    trusting = push_session(
        PushSettings(
            vapid_private_key=PRIVATE,
            subject="mailto:o@x.example",
            trusted_origins=(f"http://localhost:{port}",),
        )
    )
    async with trusting.post(f"http://localhost:{port}/push/x") as answer:
        assert answer.status < 500
    await trusting.close()

"""The console's test sends reach only declared test recipients (OMNI_TEST_RECIPIENTS), at
most OMNI_TEST_SENDS_PER_HOUR an hour per console user (429 beyond), each recorded with who
sent it. SMS goes to a Twilio peer on loopback, email to the SMTP sink: what they got is
what reached the provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from console_stack import ConsoleStack, console_stack, csrf_of, log_in
from peers.twilio_api import TwilioPeer
from temporalio.testing import WorkflowEnvironment

from orchestrator.api.serve import serving
from orchestrator.store.message_views import SqlMessages

SMS = "play/reminder/sms"
EMAIL = "play/reminder/email"
DECLARED_PHONE, DECLARED_EMAIL = "+15005550006", "qa@example.com"


@pytest.fixture(scope="module")
async def twilio() -> AsyncIterator[tuple[TwilioPeer, str]]:
    peer = TwilioPeer()
    async with serving(peer.app()) as base:
        yield peer, base
    assert peer.violations == []


@pytest.fixture(scope="module")
async def stack(
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    twilio: tuple[TwilioPeer, str],
) -> AsyncIterator[ConsoleStack]:
    peer, base = twilio
    settings = {
        "OMNI_TWILIO_ACCOUNT_SID": peer.account_sid,
        "OMNI_TWILIO_AUTH_TOKEN": peer.auth_token,
        "OMNI_TWILIO_FROM": "+15005550001",
        "OMNI_TWILIO_API_URL": base,
        "OMNI_SMS_PER_SECOND": "100",
        "OMNI_RECORD_ONLY": "push,telegram,whatsapp",
        "OMNI_TEST_RECIPIENTS": f"{DECLARED_EMAIL}, {DECLARED_PHONE}, 123456789",
        "OMNI_TEST_SENDS_PER_HOUR": "10",
    }
    tmp = tmp_path_factory.mktemp("test-sends")
    async with console_stack(dev_env, tmp, settings=settings) as running:
        yield running


@asynccontextmanager
async def as_key(stack: ConsoleStack, name: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A console user of its own: logged in with a fresh API key (rates are per user)."""
    key = await stack.svc.keys.create(name, scopes={"console"})
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        assert (await log_in(client, key)).status_code == 303
        grant = await stack.svc.keys.verify(key)
        yield client, grant.key_id if grant is not None else ""


async def post_test(client: httpx.AsyncClient, template: str, address: str) -> httpx.Response:
    page = await client.get(
        "/console/preview", params={"scenario": "console_play", "template": template}
    )
    return await client.post(
        "/console/test-send",
        data={
            "csrf": csrf_of(page.text),
            "scenario": "console_play",
            "template": template,
            "address": address,
        },
        headers={"Origin": str(client.base_url).rstrip("/")},
    )


async def test_the_form_offers_only_the_declared_recipients(stack: ConsoleStack) -> None:
    async with as_key(stack, "form") as (client, _):
        sms = await client.get(
            "/console/preview", params={"scenario": "console_play", "template": SMS}
        )
        email = await client.get(
            "/console/preview", params={"scenario": "console_play", "template": EMAIL}
        )
    assert f'<option value="{DECLARED_PHONE}">' in sms.text and DECLARED_EMAIL not in sms.text
    assert f'<option value="{DECLARED_EMAIL}">' in email.text and DECLARED_PHONE not in email.text
    assert '<input name="address"' not in sms.text  # no free text


async def test_an_undeclared_recipient_is_refused_before_any_provider(
    stack: ConsoleStack, twilio: tuple[TwilioPeer, str]
) -> None:
    peer, _ = twilio
    before = len(peer.messages)
    async with as_key(stack, "stranger") as (client, key_id):
        premium = await post_test(client, SMS, "+19005550199")
        other = await post_test(client, EMAIL, "thief@example.com")
        # A barrier: a test send is sent before its answer, so once this one is at the peer,
        # anything the refused ones had set going would be there too.
        allowed = await post_test(client, SMS, DECLARED_PHONE)
    for answer in (premium, other):
        assert answer.status_code == 403
        assert "declared in OMNI_TEST_RECIPIENTS" in answer.text
    assert allowed.status_code == 200, allowed.text
    assert [m.get("To") for m in peer.messages[before:]] == [DECLARED_PHONE]
    assert not any(b"thief@example.com" in p.read_bytes() for p in stack.mail.glob("*.eml"))
    rows = await SqlMessages(stack.svc.send_log.sessions).recent(limit=200)
    by_stranger = [r for r in rows if r.test and r.reason == f"test send by api key {key_id}"]
    assert len(by_stranger) == 1  # the allowed one; the refused left no row


async def test_the_eleventh_test_within_an_hour_gets_429_and_each_names_its_sender(
    stack: ConsoleStack, twilio: tuple[TwilioPeer, str]
) -> None:
    peer, _ = twilio
    before = len(peer.messages)
    async with as_key(stack, "burst") as (client, key_id):
        # All at once, as the incident's 25 in half a second: the limit holds under a burst.
        answers = await asyncio.gather(*(post_test(client, SMS, DECLARED_PHONE) for _ in range(11)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 10 + [429], statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert "OMNI_TEST_SENDS_PER_HOUR" in refused.text
        # Another console user has an allowance of their own.
        async with as_key(stack, "colleague") as (other, _):
            assert (await post_test(other, SMS, DECLARED_PHONE)).status_code == 200
        listed = await client.get("/console/messages", params={"scenario": "console_play"})
    mine = [m for m in peer.messages[before:] if m.get("To") == DECLARED_PHONE]
    assert len(mine) == 11  # ten of "burst", one of "colleague"; the eleventh never left
    rows = await SqlMessages(stack.svc.send_log.sessions).recent(limit=200)
    by_burst = [r for r in rows if r.test and r.reason == f"test send by api key {key_id}"]
    assert len(by_burst) == 10 and {r.status for r in by_burst} == {"sent"}
    assert f"test send by api key {key_id}" in listed.text


async def test_a_template_no_test_send_can_go_by_names_the_field_and_the_rule(
    stack: ConsoleStack,
) -> None:
    """Issue 23: a refusal says which field and which rule, as the API's 422s do."""
    template = "abandoned_cart/reminder/push"
    async with as_key(stack, "pusher") as (client, _):
        page = await client.get(
            "/console/preview", params={"scenario": "abandoned_cart", "template": template}
        )
        answer = await client.post(
            "/console/test-send",
            data={
                "csrf": csrf_of(page.text),
                "scenario": "abandoned_cart",
                "template": template,
                "address": "qa@example.com",
            },
            headers={"Origin": str(client.base_url).rstrip("/")},
        )
    assert answer.status_code == 422
    assert "template: must be a template of a channel test sends go by here" in answer.text
    assert "this one is push" in answer.text

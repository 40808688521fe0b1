"""The send activity: idempotency and error typing, through Temporal's activity environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from accepting import AcceptingChannel
from harness import FULL_CONTACT
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from channels.base import Delivery, Outbound, PermanentChannelError, TransientChannelError
from channels.outbox import OutboxChannel
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.model import CHANNELS

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Failing:
    name = "email"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def send(self, out: Outbound) -> Delivery:
        self.calls += 1
        raise self.error


def request(key: str = "wf/g0/steps.1/email", **changes: object) -> SendRequest:
    base = SendRequest(
        key=key,
        scenario="s",
        category="marketing",
        step="steps.1",
        channel="email",
        template="t/x",
        customer_id="c1",
        now=NOW.isoformat(),
        run={"id": "s/c1"},
        trigger={"cart": {"id": "c-1"}},
        event={},
        sources={
            "": "{% block subject %}Hi {{ contact.first_name }}{% endblock %}"
            "{% block html %}<p>{{ cart.id }}</p>{% endblock %}",
            "ru": "{% block subject %}Привет{% endblock %}{% block html %}x{% endblock %}",
        },
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def activities(channel: object | None = None, **contact: object) -> Activities:
    outbox = {c: AcceptingChannel(c) for c in CHANNELS}
    if channel is not None:
        outbox["email"] = channel  # type: ignore[assignment]
    directory = InMemoryDirectory([Contact.model_validate({**FULL_CONTACT, **contact})])
    return Activities(directory=directory, send_log=InMemorySendLog(), channels=dict(outbox))


async def test_same_key_twice_reaches_the_channel_once() -> None:
    acts = activities()
    env = ActivityEnvironment()
    first = await env.run(acts.send, request())
    second = await env.run(acts.send, request())
    outbox = acts.channels["email"]
    assert isinstance(outbox, OutboxChannel)
    assert len(outbox.sent) == 1
    assert first.status == second.status == "sent"
    assert second.provider_id == first.provider_id and second.reason == "already sent"


async def test_locale_variant_is_chosen_from_the_contact() -> None:
    acts = activities(locale="ru-RU")
    await ActivityEnvironment().run(acts.send, request())
    outbox = acts.channels["email"]
    assert isinstance(outbox, OutboxChannel)
    assert outbox.sent[0].message.subject == "Привет"
    assert outbox.sent[0].message.locale == "ru"


async def test_transient_error_is_retryable_with_provider_delay() -> None:
    channel = Failing(TransientChannelError("421 <jane@example.com> try later", retry_after=30))
    acts = activities(channel)
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(acts.send, request())
    assert not info.value.non_retryable
    assert info.value.next_retry_delay == timedelta(seconds=30)
    # The failure goes into workflow history: the provider's words stay in the send log.
    assert "jane" not in str(info.value) and info.value.type == "TransientChannelError"
    logged = await acts.send_log.get(request().key)
    assert logged is not None and "421 <jane@example.com>" in logged.reason


async def test_permanent_error_keeps_a_reason_code_in_history_and_details_in_the_log() -> None:
    text = "invalid_address: SMTP 550 5.1.1 <jane@example.com> no such user"
    acts = activities(Failing(PermanentChannelError(text)))
    result = await ActivityEnvironment().run(acts.send, request())
    assert (result.status, result.reason) == ("failed", "invalid_address")
    logged = await acts.send_log.get(request().key)
    assert logged is not None and (logged.status, logged.reason) == ("failed", text)
    odd = activities(Failing(PermanentChannelError("Invalid 'To' Phone Number: +15550001")))
    assert (await ActivityEnvironment().run(odd.send, request())).reason == "rejected"


async def test_template_error_with_real_data_fails_the_send_only() -> None:
    acts = activities()
    result = await ActivityEnvironment().run(acts.send, request(trigger={}))
    assert result.status == "failed"
    assert result.reason.startswith("template_error")


async def test_suppressed_channel_is_never_sent_even_transactional() -> None:
    """An opt-out of everything (STOP, "stop every message", a bounce) holds transactional
    messages too; a marketing unsubscribe does not."""
    for reason in ("unsubscribed_all", "stop", "bounced"):
        acts = activities(suppressions={"email": reason})
        result = await ActivityEnvironment().run(acts.send, request(category="transactional"))
        assert (result.status, result.reason) == ("skipped", f"suppressed: {reason}")
    acts = activities(suppressions={"email": "unsubscribed"})
    receipt = await ActivityEnvironment().run(acts.send, request(category="transactional"))
    assert receipt.status == "sent"
    offer = await ActivityEnvironment().run(acts.send, request("wf/g0/steps.2/email"))
    assert (offer.status, offer.reason) == ("skipped", "suppressed: unsubscribed")

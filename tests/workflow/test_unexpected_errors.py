"""Whatever a channel adapter raises for one message that is not a known transient error ends
as a recorded permanent failure after a bounded number of attempts; the ladder moves on and the
run never fails for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from accepting import accepting
from harness import FULL_CONTACT, Run, write_scenario
from peers.smtp import SmtpPeer
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from channels.base import Delivery, Outbound
from channels.email import EmailChannel
from channels.settings import EmailSettings
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.send_errors import UNEXPECTED_ERROR_ATTEMPTS
from orchestrator.engine.sendlog import InMemorySendLog

LADDER = """
scenario: oops
trigger: {event: cart_updated, per: cart.id}
steps:
  - escalate:
      - email: oops/m
        wait: 1h
      - sms: oops/m
sample:
  cart_updated: {cart: {id: c-1}}
"""
TEMPLATES = {
    "oops/m/email": "{% block subject %}Hi {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>Cart {{ cart.id }}</p>{% endblock %}",
    "oops/m/sms": "{% block text %}Cart {{ cart.id }}{% endblock %}",
}


class Raising:
    """An adapter with a bug: raises what no adapter should let out."""

    name = "email"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def send(self, out: Outbound) -> Delivery:
        self.calls += 1
        raise self.error

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


def request(customer: str = "c1") -> SendRequest:
    return SendRequest(
        key=f"oops/{customer}/g0/steps.0.rung0/email",
        scenario="oops",
        category="transactional",
        step="steps.0.rung0",
        channel="email",
        template="oops/m",
        customer_id=customer,
        now=datetime(2026, 11, 24, 12, tzinfo=UTC).isoformat(),
        run={"id": f"oops/{customer}"},
        trigger={"cart": {"id": "c-1"}},
        event={},
        sources={"": TEMPLATES["oops/m/email"]},
    )


@pytest.mark.parametrize(
    "error",
    [ValueError("Header values may not contain linefeed"), KeyError("x"), RuntimeError("bug")],
)
async def test_an_untyped_error_is_retried_then_recorded_as_failed(error: Exception) -> None:
    channel = Raising(error)
    directory = InMemoryDirectory([Contact.model_validate(FULL_CONTACT)])
    acts = Activities(directory=directory, send_log=InMemorySendLog(), channels={"email": channel})
    env = ActivityEnvironment()
    for attempt in range(1, UNEXPECTED_ERROR_ATTEMPTS):
        env.info = dataclasses.replace(env.info, attempt=attempt)
        with pytest.raises(ApplicationError) as info:
            await env.run(acts.send, request())
        assert not info.value.non_retryable and info.value.type == "UnexpectedChannelError"
    env.info = dataclasses.replace(env.info, attempt=UNEXPECTED_ERROR_ATTEMPTS)
    result = await env.run(acts.send, request())
    assert result.status == "failed"
    assert result.reason == (
        f"error: the email adapter raised {type(error).__name__} "
        f"({UNEXPECTED_ERROR_ATTEMPTS} attempts)"
    )
    logged = await acts.send_log.get(request().key)
    assert logged is not None and logged.status == "failed"
    assert channel.calls == UNEXPECTED_ERROR_ATTEMPTS


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


async def test_an_adapter_bug_fails_the_rung_after_bounded_attempts_and_the_run_goes_on(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, LADDER, TEMPLATES)
    for i, error in enumerate([ValueError("CR/LF in a header"), TypeError("None"), OSError()]):
        channel = Raising(error)
        providers = accepting()
        providers["email"] = channel  # type: ignore[assignment]
        contact = Contact.model_validate({**FULL_CONTACT, "id": f"bug-{i}"})
        async with Run(time_env, scenario, contact, providers=providers) as run:
            await run.start({"cart": {"id": f"c-{i}"}})
            state = await run.result()
        assert channel.calls == UNEXPECTED_ERROR_ATTEMPTS
        assert [(m.channel, m.status) for m in state.messages] == [
            ("email", "failed"),
            ("sms", "sent"),
        ]
        assert state.messages[0].reason == (
            f"error: the email adapter raised {type(error).__name__} "
            f"({UNEXPECTED_ERROR_ATTEMPTS} attempts)"
        )
        assert state.outcome != "failed" and len(run.providers["sms"].sent) == 1


async def test_bad_stored_addresses_never_reach_the_smtp_server(
    time_env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpPeer
) -> None:
    """Contacts stored before validation existed (built directly, not from JSON): CR/LF in the
    address would inject headers or SMTP commands; the real adapter refuses it for good and the
    run moves on to SMS."""
    scenario = write_scenario(tmp_path, LADDER, TEMPLATES)
    hostile = [
        "alex@example.com\r\nBcc: victim@example.com",
        "jane@example.com\nSubject: hijacked",
        "Ünïcødé <ü@example.com>\r\n",
        "a@example.com>\r\nRCPT TO:<victim@example.com",
    ]
    for i, address in enumerate(hostile):
        # Stored before addresses were checked: built as a store reads it, unchecked.
        contact = Contact.model_construct(
            id=f"oops-{i}",
            first_name="Line\r\nBreak <b>&",
            email=address,
            phone="+15005550006",
            consents={"email": True, "sms": True},
        )
        email = EmailChannel(EmailSettings(host="127.0.0.1", port=smtp.port, security="none"))
        providers = accepting()
        providers["email"] = email  # type: ignore[assignment]
        async with Run(time_env, scenario, contact, providers=providers) as run:
            await run.start({"cart": {"id": f"c-{i}"}})
            state = await run.result()
        await email.close()
        assert [(m.channel, m.status, m.reason) for m in state.messages] == [
            ("email", "failed", "invalid_address"),  # the words stay in the send log
            ("sms", "sent", ""),
        ]
    assert smtp.received == []


async def test_a_name_with_line_breaks_still_sends_as_one_subject_line(
    smtp: SmtpPeer,
) -> None:
    contact = Contact.model_validate({**FULL_CONTACT, "first_name": "Anna\r\nBcc: x@evil.example"})
    email = EmailChannel(EmailSettings(host="127.0.0.1", port=smtp.port, security="none"))
    acts = Activities(
        directory=InMemoryDirectory([contact]),
        send_log=InMemorySendLog(),
        channels={"email": email},
    )
    result = await ActivityEnvironment().run(acts.send, request())
    await email.close()
    assert result.status == "sent", result.reason
    [got] = smtp.received
    head = got.raw.split(b"\r\n\r\n")[0]
    assert b"Subject: Hi Anna Bcc: x@evil.example\r\n" in head
    assert got.recipients == ["alex@example.com"] and b"\r\nBcc:" not in head


async def test_a_transient_error_that_never_ends_fails_the_message_not_the_run(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """SEND_RETRY gives up after its attempts; the run records it and goes on."""
    from channels.base import TransientChannelError

    scenario = write_scenario(tmp_path, LADDER, TEMPLATES)
    channel = Raising(TransientChannelError("421 try later", retry_after=1))
    providers = accepting()
    providers["email"] = channel  # type: ignore[assignment]
    contact = Contact.model_validate({**FULL_CONTACT, "id": "down"})
    async with Run(time_env, scenario, contact, providers=providers) as run:
        await run.start()
        state = await run.result()
    assert [(m.channel, m.status) for m in state.messages] == [
        ("email", "failed"),
        ("sms", "sent"),
    ]
    assert state.messages[0].reason == "error: TransientChannelError, no attempt succeeded"

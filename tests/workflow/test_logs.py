"""Logs: one line per send with run, step and key; JSON when configured; never an address, a
name or a message body, even when the provider quotes the address in its error."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import pytest
from send_activities import Failing, activities, request
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from channels.base import PermanentChannelError, TransientChannelError
from orchestrator.config.logformat import JsonFormatter, use_format

HOSTILE = {
    "first_name": "Zoë'); DROP TABLE--<script>x</script>",
    "last_name": "Secretsurname",
    "email": "hostile.person+tag@evil-domain.example",
    "phone": "+15005550006",
    "telegram_chat_id": "987654321",
}


@pytest.fixture
def json_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old)


async def test_send_logs_carry_context_and_no_pii(json_lines: list[str]) -> None:
    env = ActivityEnvironment()
    body = {
        "": "{% block subject %}Hi {{ contact.first_name }} {{ contact.last_name }}{% endblock %}"
        "{% block html %}<p>Body for {{ contact.email }}</p>{% endblock %}"
    }
    text_body = {"": "{% block text %}Hi {{ contact.first_name }}{% endblock %}"}
    for channel in ("email", "sms", "telegram"):
        sources = body if channel == "email" else text_body
        req = request(key=f"wf/{channel}", channel=channel, sources=sources)
        assert (await env.run(activities(**HOSTILE).send, req)).status == "sent"
    refused = Failing(PermanentChannelError(f"invalid_address: 550 <{HOSTILE['email']}>"))
    await env.run(activities(refused, **HOSTILE).send, request(key="wf/refused"))
    flaky = Failing(TransientChannelError(f"421 {HOSTILE['email']} try later"))
    with pytest.raises(ApplicationError):
        await env.run(activities(flaky, **HOSTILE).send, request(key="wf/flaky"))
    broken = Failing(RuntimeError(f"boom for {HOSTILE['email']}"))
    with pytest.raises(ApplicationError):
        await env.run(activities(broken, **HOSTILE).send, request(key="wf/broken"))
    text = "\n".join(json_lines)
    for value in (*HOSTILE.values(), "Zoë", "Secretsurname", "evil-domain", "Body for"):
        assert value not in text, value
    sent = [json.loads(line) for line in json_lines if '"logger": "omni.sends"' in line]
    assert len(sent) == 4
    first = sent[0]
    assert first["status"] == "sent" and first["key"] == "wf/email"
    assert first["step"] == "steps.1" and first["channel"] == "email"
    assert "run_id" in first and "workflow_id" in first
    assert sent[-1]["status"] == "failed" and sent[-1]["reason"] == "invalid_address"


def test_log_format_json_switches_the_root_handlers() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        use_format("json")
        assert isinstance(handler.formatter, JsonFormatter)
        with pytest.raises(ValueError, match="OMNI_LOG_FORMAT"):
            use_format("xml")
    finally:
        root.removeHandler(handler)


async def test_a_send_line_names_its_run_when_the_send_carries_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Revision-1 sends carry no ``run``: the line names the workflow all the same."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="welcome_series/customer-42")
    with caplog.at_level(logging.INFO, logger="omni.sends"):
        assert (await env.run(activities().send, request(key="wf/r1", run={}))).status == "sent"
    assert caplog.messages == ["sent email `t/x` · run welcome_series/customer-42"]

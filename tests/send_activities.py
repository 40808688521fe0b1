"""The send activity over in-memory stores, and the requests the workflow would give it."""

from __future__ import annotations

from datetime import UTC, datetime

from accepting import AcceptingChannel
from harness import FULL_CONTACT

from channels.base import Delivery, Outbound
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

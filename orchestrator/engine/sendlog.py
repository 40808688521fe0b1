"""The send log: one entry per idempotency key. It stops a retried activity from sending twice
and is what the cross-scenario frequency cap counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass
class SendRecord:
    key: str
    customer_id: str
    scenario: str
    step: str
    channel: str
    template: str
    status: str  # sent | skipped | failed
    at: datetime
    reason: str = ""
    provider_id: str = ""


class SendLog(Protocol):
    async def get(self, key: str) -> SendRecord | None: ...

    async def record(self, entry: SendRecord) -> None: ...

    async def sent_since(self, customer_id: str, since: datetime) -> list[tuple[datetime, str]]:
        """(sent_at, channel) of every message sent to the customer after ``since``."""
        ...


class InMemorySendLog:
    def __init__(self) -> None:
        self.entries: dict[str, SendRecord] = {}

    async def get(self, key: str) -> SendRecord | None:
        return self.entries.get(key)

    async def record(self, entry: SendRecord) -> None:
        self.entries[entry.key] = entry

    async def sent_since(self, customer_id: str, since: datetime) -> list[tuple[datetime, str]]:
        return [
            (e.at, e.channel)
            for e in self.entries.values()
            if e.customer_id == customer_id and e.status == "sent" and e.at > since
        ]

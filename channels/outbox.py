"""A channel that records messages instead of delivering them: the simulator's and the
development stack's sink for channels without a configured provider."""

from __future__ import annotations

from channels.base import Outbound


class OutboxChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Outbound] = []

    async def send(self, out: Outbound) -> str:
        self.sent.append(out)
        return f"outbox-{self.name}-{len(self.sent)}"

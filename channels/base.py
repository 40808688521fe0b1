"""The channel protocol and the two errors every adapter maps its provider's failures to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.templates import Rendered


class ChannelError(Exception):
    pass


class TransientChannelError(ChannelError):
    """Worth retrying later (timeouts, 4xx SMTP, 429, 5xx); ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentChannelError(ChannelError):
    """Will never work for this address; ``suppress`` marks the channel unusable for the contact."""

    def __init__(self, reason: str, *, suppress: bool = False) -> None:
        self.reason = reason
        self.suppress = suppress
        super().__init__(reason)


@dataclass
class Outbound:
    """One message to one address, ready to hand to a provider."""

    key: str
    channel: str
    address: Any
    message: Rendered
    customer_id: str
    scenario: str
    template: str


class Channel(Protocol):
    name: str

    async def send(self, out: Outbound) -> str:
        """Deliver and return the provider's message id; raise a ChannelError on failure."""
        ...

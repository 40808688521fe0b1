"""A channel with no provider that is not record-only: it sends nothing, and says what to set."""

from __future__ import annotations

from channels.base import Channel, ChannelMisconfigured, Delivery, Outbound


class UnconfiguredChannel(Channel):
    """A worker whose scenarios use this channel refuses to start (``check``); a send that
    reaches it anyway (a scenario added while the worker runs) is retried as misconfigured
    until a provider is set, and never recorded as sent."""

    def __init__(self, name: str, *, variables: str) -> None:
        self.name = name
        #: The variables that would give it a provider (the composition root names them).
        self.variables = variables

    @property
    def problem(self) -> str:
        return (
            f"{self.name} has no provider: set {self.variables}; or, to keep its messages "
            f"without sending them, add {self.name} to OMNI_RECORD_ONLY"
        )

    async def check(self) -> None:
        raise ChannelMisconfigured(self.problem)

    async def close(self) -> None:
        return None

    async def send(self, out: Outbound) -> Delivery:
        raise ChannelMisconfigured(self.problem)

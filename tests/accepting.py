"""A provider stand-in for tests that are not about providers: it keeps every message it is
given (as ``OutboxChannel`` does) and answers as a provider that accepted it, so runs, caps,
funnels and learning count it as ``sent``. ``OutboxChannel`` itself records (``recorded``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from channels.base import Delivery, Outbound
from channels.outbox import OutboxChannel
from orchestrator.language.model import CHANNELS


class AcceptingChannel(OutboxChannel):
    async def send(self, out: Outbound) -> Delivery:
        return dataclasses.replace(await super().send(out), recorded=False)


def accepting(channels: Iterable[str] = CHANNELS) -> dict[str, OutboxChannel]:
    """One accepting stand-in per channel, typed as the recording channels they extend."""
    return {c: AcceptingChannel(c) for c in channels}

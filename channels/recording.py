"""A channel that records messages instead of delivering them: the simulator's and the
development stack's sink for channels without a configured provider, and a channel set
record-only (``OMNI_RECORD_ONLY``). Nothing it takes reaches a customer: every ``Delivery``
it returns is flagged ``recorded``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from channels.base import Channel, Delivery, Outbound


class RecordingChannel(Channel):
    def __init__(self, name: str, *, file: Path | None = None) -> None:
        self.name = name
        #: Where each message is appended as a JSON line; None: kept in ``sent`` only.
        self.file = file
        self.sent: list[Outbound] = []

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None  # holds no connection: each record opens and closes the file

    async def send(self, out: Outbound) -> Delivery:
        await out.handing_over()
        self.sent.append(out)
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            record = {
                "key": out.key,
                "channel": out.channel,
                "to": out.address,
                "customer_id": out.customer_id,
                "scenario": out.scenario,
                "template": out.template,
                "message": asdict(out.message),
            }
            with self.file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return Delivery(provider_id=f"recorded-{self.name}-{out.key}", recorded=True)

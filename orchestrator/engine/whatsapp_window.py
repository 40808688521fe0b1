"""Which WhatsApp message a send may use, decided at send time.

WhatsApp lets a business write free text only within its customer-service window: 24 hours
from the customer's last message to it. Outside the window (or before the customer ever wrote)
only a template WhatsApp approved may be sent. So, for each send:

- inside the window, with free text (``whatsapp.j2``): the free text;
- otherwise, with an approved template (``whatsapp.yaml``): the template;
- otherwise: skipped, ``whatsapp_session_closed: ...``.

The window is read from the inbound messages Omni received on Twilio's webhook (kept as the
number's hash and the time): Twilio's API has no call that tells whether a window is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from orchestrator.engine.resolve import Send

WINDOW = timedelta(hours=24)
#: The decision is made a moment before Twilio gets the message (and WhatsApp delivers it):
#: free text is chosen only while this much of the window is left.
MARGIN = timedelta(minutes=2)


class InboundLog(Protocol):
    async def last_received(self, channel: str, address: str) -> datetime | None:
        """When the last message from ``address`` on ``channel`` arrived, if any did."""
        ...


@dataclass(frozen=True)
class WhatsappWay:
    #: Send the approved template (False: the free text).
    content: bool = False
    #: Neither may be sent: why.
    skip: str = ""


async def whatsapp_way(
    req: Send, address: str, now: datetime, inbound: InboundLog | None
) -> WhatsappWay:
    last = await inbound.last_received("whatsapp", address) if inbound is not None else None
    open_window = last is not None and now - last < WINDOW - MARGIN
    if open_window and req.sources:
        return WhatsappWay()
    if req.content:
        return WhatsappWay(content=True)
    # (A validated template has free text or an approved one: the window is closed here.)
    why = (
        "no inbound WhatsApp message on record" if last is None else "last inbound message >24h ago"
    )
    return WhatsappWay(skip=f"whatsapp_session_closed: no content template and {why}")

"""Stored events before sends: a send waits while its customer has an accepted event that has
not reached Temporal yet (README, "Events accepted while Temporal is down").

After an outage, timers that fell due meanwhile fire the moment Temporal is back, while the
events the API stored meanwhile (a reply, a click, an order) are still on their way through
the outbox relay. Without this check the next rung of a ladder would go to a customer whose
reply is sitting in the store; with it, the send is deferred (the run sleeps, listening) until
the relay has delivered them, and the reply stops the ladder as it would have on time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from orchestrator.engine.messages import SendResult
from orchestrator.engine.resolve import Send
from orchestrator.language.expressions import to_datetime

log = logging.getLogger(__name__)

#: How long a held send sleeps before it looks again (the relay needs about one round).
HOLD = timedelta(seconds=5)
#: Relay attempts (each with Temporal answering) after which an event no longer holds sends:
#: an event that cannot be delivered must not silence its customer for ever.
TRIED = 10
#: The send result's reason, shown on the run while it waits.
REASON = "events_pending"


class PendingEvents(Protocol):
    async def pending_for(self, customer_id: str, workflow_id: str, tried: int) -> list[str]: ...


async def held(pending: PendingEvents | None, req: Send, workflow_id: str) -> SendResult | None:
    """A deferral while ``req.customer_id`` has stored events not yet delivered to their runs
    (other than the ones that started run ``workflow_id``); None: nothing to wait for."""
    if pending is None:
        return None
    waiting = await pending.pending_for(req.customer_id, workflow_id, TRIED)
    if not waiting:
        return None
    # Real time, not the request's: a retried activity's ``now`` may lie in the past, and a
    # deferral to the past would not sleep at all.
    at = max(to_datetime(req.now), datetime.now(UTC)) + HOLD
    log.info(
        "send %s held: %d stored event(s) of its customer not delivered yet",
        req.key,
        len(waiting),
        extra={"event_ids": waiting[:10]},
    )
    return SendResult("deferred", reason=REASON, retry_at=at.isoformat())

"""Turn tracking and provider feedback into run events (reactions stop escalation ladders).

A customer clicking a link must reach the shop even when Temporal is briefly unreachable, so
signal failures here are logged, never raised: the send log already holds the open or click.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError

from orchestrator.api.events import deliver, give_up
from orchestrator.api.services import Services
from orchestrator.engine.messages import EventSignal
from orchestrator.engine.router import Routed

log = logging.getLogger(__name__)


async def to_run(
    svc: Services, run_id: str, name: str, event_id: str, customer_id: str, data: dict[str, object]
) -> bool:
    """Signal one run; False if it has ended or Temporal did not answer."""
    routed = Routed()
    event = EventSignal(name=name, event_id=event_id, customer_id=customer_id, data=data)
    try:
        await svc.router.signal(run_id, event, routed)
    except RPCError as exc:
        log.warning("reaction %s for %s not delivered: %s", name, run_id, exc.status)
        return False
    # Ids and the channel only: never the link's URL (it may carry the customer's data).
    context = {"event": name, "event_id": event_id, "workflow_id": run_id}
    if routed.signalled:
        log.info("reaction %s · run %s", name, run_id, extra=context)
    else:
        log.info("reaction %s · run %s (ended: dropped)", name, run_id, extra=context)
    return bool(routed.signalled)


async def reply_event(
    svc: Services, customer_id: str, event_id: str, channel: str, message_key: str = ""
) -> None:
    """A reply, stored as an event before the provider hears "200": if Temporal is down the
    outbox relay delivers it later, and if the store is down the webhook fails so the provider
    retries. Never acknowledged and then dropped. The send log marks the reply on the
    channel's latest message."""
    data: dict[str, Any] = {"channel": channel}
    if message_key:
        data["message_key"] = message_key
    payload: dict[str, Any] = {
        "name": "message_replied",
        "event_id": event_id,
        "customer_id": customer_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
        "contact": None,
    }
    # Before the claim: a webhook the provider retries after a store failure marks it then
    # (marking is idempotent: a timestamp on the latest message).
    await svc.send_log.mark_reply(customer_id, channel, datetime.now(UTC))
    log.info(
        "reaction message_replied by %s · customer %s",
        channel,
        customer_id,
        extra={"event": "message_replied", "event_id": event_id, "channel": channel},
    )
    if await svc.events.claim(event_id, "message_replied", customer_id, [], payload):
        try:
            await deliver(svc, payload)
        except (RPCError, OperationalError, TimeoutError) as exc:
            log.warning("reply %s stored, delivery pending: %s", event_id, type(exc).__name__)
            await give_up(svc, event_id)

"""The outbox relay: delivers stored events whose request died, timed out or found Temporal
down. Every API process runs one; leases keep two from delivering the same event at once, and
delivery is safe to repeat (runs drop event ids they have seen)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError

from orchestrator.api.events import deliver
from orchestrator.api.services import Services

log = logging.getLogger(__name__)


async def relay_once(svc: Services, limit: int = 50) -> int:
    """Deliver what is due now; the number delivered. One customer's events keep their
    order: after a failure, that customer's later events wait for the next round."""
    delivered = 0
    blocked: set[str] = set()
    for stored in await svc.events.take_due(limit):
        payload = stored.payload
        if payload is None or payload["customer_id"] in blocked:
            continue
        try:
            await deliver(svc, payload)
            delivered += 1
        except (RPCError, OperationalError, TimeoutError) as exc:
            blocked.add(payload["customer_id"])
            log.warning("relay: event still pending: %s", type(exc).__name__)
    return delivered


async def relay_forever(svc: Services, interval: float) -> None:
    while True:
        try:
            await relay_once(svc)
        except (OperationalError, TimeoutError) as exc:  # the store itself is down: try later
            log.warning("relay: store unavailable: %s", type(exc).__name__)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def relaying(svc: Services) -> AsyncIterator[None]:
    interval = svc.settings.relay_interval
    task = asyncio.create_task(relay_forever(svc, interval)) if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""The outbox relay: delivers stored events whose request died, timed out or found Temporal
down. Every API process runs one; leases keep two from delivering the same event at once, and
delivery is safe to repeat (runs drop event ids they have seen)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError

from orchestrator.api.events import deliver
from orchestrator.api.services import Services

log = logging.getLogger(__name__)


#: How long a relay round waits for Temporal to answer its health check.
PROBE_TIMEOUT = timedelta(seconds=2)


async def temporal_answers(svc: Services) -> bool:
    """One health check, not retried: a round that finds Temporal down leases nothing (and
    counts no attempt), and the first round after it is back drains what waits."""
    try:
        return await svc.client.service_client.check_health(timeout=PROBE_TIMEOUT)
    except (RPCError, TimeoutError):
        return False


async def relay_once(svc: Services, limit: int = 50) -> int:
    """Deliver what is due now, oldest first; the number delivered. One customer's events
    keep their order: after a failure, that customer's later events wait for the next round
    (their leases released if Temporal stopped answering, so that round comes soon)."""
    if not await svc.events.any_due() or not await temporal_answers(svc):
        return 0
    delivered = 0
    # Customers whose event failed -> whether their events go back at once (Temporal stopped
    # answering) or wait out the lease this round took (it answers, but refused the event).
    blocked: dict[str, bool] = {}
    for stored in await svc.events.take_due(limit):
        payload = stored.payload
        if payload is None:
            continue
        customer = payload["customer_id"]
        if customer in blocked:
            if blocked[customer]:
                await svc.events.release(stored.event_id)
            continue
        try:
            await deliver(svc, payload)
            delivered += 1
        except (RPCError, OperationalError, TimeoutError) as exc:
            log.warning("relay: event still pending: %s", type(exc).__name__)
            blocked[customer] = not await temporal_answers(svc)
            if blocked[customer]:
                await svc.events.release(stored.event_id)
    return delivered


async def relay_forever(svc: Services, interval: float, limit: int = 50) -> None:
    while True:
        try:
            if await relay_once(svc, limit) >= limit:
                continue  # a backlog (after an outage): drain it without pausing
        except (OperationalError, TimeoutError) as exc:  # the store itself is down: try later
            log.warning("relay: store unavailable: %s", type(exc).__name__)
        except Exception:  # one bad event must not stop every later delivery
            log.exception("relay: round failed")
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

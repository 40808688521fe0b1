"""The event outbox: an event is stored with its claim in one commit (so 202 means durable),
delivered to its runs by the request that posted it, and re-driven by any API process's relay
if that request died or Temporal was down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.batch import WriteBatcher
from orchestrator.store.contact_writes import ContactWrite
from orchestrator.store.db import write_lock
from orchestrator.store.group_write import Claimed
from orchestrator.store.tables import EventRow


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    delivered: bool
    result: dict[str, Any]
    payload: dict[str, Any] | None


class EventLog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], batcher: WriteBatcher | None = None
    ) -> None:
        self.sessions = sessions
        self.batcher = batcher or WriteBatcher(sessions)

    async def claim(
        self,
        event_id: str,
        name: str,
        customer_id: str,
        runs: list[tuple[str, str, str]] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """True for the first caller with this id, False for a repeat. The event (``payload``)
        and its planned runs (workflow id, scenario, customer) are stored in the same commit;
        without a payload the event counts as delivered at once."""
        return (await self.batcher.claim(event_id, name, customer_id, runs or [], payload)).new

    async def claim_routed(
        self,
        event_id: str,
        name: str,
        customer_id: str,
        runs: list[tuple[str, str, str]],
        payload: dict[str, Any],
        listening: frozenset[str],
        contact: ContactWrite | None = None,
    ) -> Claimed:
        """``claim``, and in the same commit the customer's runs of the ``listening``
        scenarios (the event's signals need no read of their own) and, for a first claim,
        the event's ``contact`` fields (``SqlContacts.prepared``): stored together or not."""
        return await self.batcher.claim(
            event_id, name, customer_id, runs, payload, listening, contact
        )

    async def get(self, event_id: str) -> StoredEvent | None:
        async with self.sessions() as s:
            row = await s.get(EventRow, event_id)
        if row is None:
            return None
        return StoredEvent(
            row.event_id, row.delivered_at is not None, dict(row.result), row.payload
        )

    async def data_of(self, event_id: str) -> dict[str, Any] | None:
        """The data of a stored event (sends of revision-1 runs refer to their trigger's);
        None when it is not stored or was erased."""
        async with self.sessions() as s:
            payload = await s.scalar(select(EventRow.payload).where(EventRow.event_id == event_id))
        return dict(payload.get("data") or {}) if payload is not None else None

    async def result(self, event_id: str) -> dict[str, Any]:
        """What the delivery recorded: ``{"runs": [...]}``."""
        stored = await self.get(event_id)
        return stored.result if stored is not None else {}

    async def delivered(self, event_id: str, result: dict[str, Any]) -> None:
        """Marked in the next group commit (with other requests' claims and marks)."""
        await self.batcher.mark_delivered(event_id, result)

    async def release(self, event_id: str) -> None:
        """Give up the lease on an undelivered event (its request found Temporal unreachable):
        the next relay round takes it, instead of one after the lease ran out."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(
                update(EventRow)
                .where(EventRow.event_id == event_id, EventRow.delivered_at.is_(None))
                .values(lease_until=None)
            )

    async def any_due(self) -> bool:
        """Whether some undelivered event's lease ran out (a relay round has work)."""
        async with self.sessions() as s:
            found = await s.scalar(select(EventRow.event_id).where(_free()).limit(1))
        return found is not None

    async def pending_for(self, customer_id: str, workflow_id: str, tried: int) -> list[str]:
        """Ids of the customer's stored events not yet delivered to their runs, oldest first:
        what a send of run ``workflow_id`` waits for (``engine/hold.py``). Left out: the
        events that start that run (signal-with-start gave it them with its start) and events
        a relay has tried ``tried`` times with Temporal answering (stuck; they hold no send
        for ever)."""
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(EventRow.event_id, EventRow.result, EventRow.attempts)
                    .where(EventRow.delivered_at.is_(None), EventRow.customer_id == customer_id)
                    .order_by(EventRow.received_at)
                )
            ).all()
        return [
            event_id
            for event_id, result, attempts in rows
            if attempts < tried and workflow_id not in (result or {}).get("runs", [])
        ]

    async def take_due(self, limit: int = 50) -> list[StoredEvent]:
        """Undelivered events whose lease ran out, oldest first, each leased to the caller:
        two relays never take the same event at once."""
        now = datetime.now(UTC)
        free = _free(now)
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(EventRow.event_id, EventRow.result, EventRow.payload)
                    .where(free)
                    .order_by(EventRow.received_at)
                    .limit(limit)
                )
            ).all()
        taken: list[StoredEvent] = []
        for event_id, result, payload in rows:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                done = await s.execute(
                    update(EventRow)
                    .where(EventRow.event_id == event_id, free)
                    .values(lease_until=now + self.batcher.lease, attempts=EventRow.attempts + 1)
                )
            if getattr(done, "rowcount", 0) == 1:
                taken.append(StoredEvent(event_id, False, dict(result), payload))
        return taken


def _free(now: datetime | None = None) -> ColumnElement[bool]:
    """Undelivered, and nobody's lease holds it."""
    now = now or datetime.now(UTC)
    return and_(
        EventRow.delivered_at.is_(None),
        or_(EventRow.lease_until.is_(None), EventRow.lease_until < now),
    )

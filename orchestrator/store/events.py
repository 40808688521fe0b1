"""Event ids the API has taken: claimed before routing, released if routing fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.batch import WriteBatcher
from orchestrator.store.db import write_lock
from orchestrator.store.tables import EventRow


class EventLog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], batcher: WriteBatcher | None = None
    ) -> None:
        self.sessions = sessions
        self.batcher = batcher

    async def claim(self, event_id: str, name: str, customer_id: str) -> bool:
        """True for the first caller with this id; False for a repeat."""
        if self.batcher is not None:
            return await self.batcher.claim(event_id, name, customer_id)
        try:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                s.add(
                    EventRow(
                        event_id=event_id,
                        name=name,
                        customer_id=customer_id,
                        received_at=datetime.now(UTC),
                        result={},
                    )
                )
        except IntegrityError:
            return False
        return True

    async def complete(
        self, event_id: str, result: dict[str, Any], runs: list[tuple[str, str, str]] | None = None
    ) -> None:
        """Store the result; ``runs`` (workflow id, scenario, customer) join the run index."""
        if self.batcher is not None:
            await self.batcher.complete(event_id, result, runs or [])
            return
        if runs:
            raise ValueError("recording runs with the result needs a WriteBatcher")
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(
                update(EventRow).where(EventRow.event_id == event_id).values(result=result)
            )

    async def release(self, event_id: str) -> None:
        """Routing failed: forget the id so the shop's retry is processed."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(delete(EventRow).where(EventRow.event_id == event_id))

    async def result(self, event_id: str) -> dict[str, Any]:
        async with self.sessions() as s:
            row = await s.get(EventRow, event_id)
        return dict(row.result) if row is not None else {}

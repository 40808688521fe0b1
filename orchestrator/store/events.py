"""Event ids the API has taken: claimed (with the runs the event starts) before routing,
released if routing fails so the shop's retry is processed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.batch import WriteBatcher
from orchestrator.store.db import write_lock
from orchestrator.store.tables import EventRow


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
    ) -> bool:
        """True for the first caller with this id, False for a repeat. ``runs`` (workflow id,
        scenario, customer) join the run index in the same commit."""
        return await self.batcher.claim(event_id, name, customer_id, runs or [])

    async def release(self, event_id: str) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(delete(EventRow).where(EventRow.event_id == event_id))

    async def record_result(self, event_id: str, result: dict[str, Any]) -> None:
        """What the first delivery answered, for a repeat's reply (when it differs from what
        the claim recorded: runs signalled, skips, an unknown name)."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(
                update(EventRow).where(EventRow.event_id == event_id).values(result=result)
            )

    async def result(self, event_id: str) -> dict[str, Any]:
        """What the first delivery recorded: ``{"runs": [...]}``."""
        async with self.sessions() as s:
            row = await s.get(EventRow, event_id)
        return dict(row.result) if row is not None else {}

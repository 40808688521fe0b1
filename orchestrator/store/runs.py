"""The run index: which runs a customer has, per scenario (see tables.RunRow)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.batch import WriteBatcher
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import RunRow


class SqlRunIndex:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], batcher: WriteBatcher | None = None
    ) -> None:
        self.sessions = sessions
        self.batcher = batcher

    async def add(self, workflow_id: str, scenario: str, customer_id: str) -> None:
        if self.batcher is not None:
            await self.batcher.add_run(workflow_id, scenario, customer_id)
            return
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            dialect = dialect_of(s)
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            await s.execute(
                insert(RunRow)
                .values(
                    workflow_id=workflow_id,
                    scenario=scenario,
                    customer_id=customer_id,
                    started_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )

    async def for_customer(self, customer_id: str, scenarios: list[str]) -> list[str]:
        async with self.sessions() as s:
            rows = await s.scalars(
                select(RunRow.workflow_id).where(
                    RunRow.customer_id == customer_id, RunRow.scenario.in_(scenarios)
                )
            )
            return list(rows)

    async def remove(self, workflow_id: str) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(delete(RunRow).where(RunRow.workflow_id == workflow_id))

    async def all_for_customer(self, customer_id: str) -> list[str]:
        async with self.sessions() as s:
            return list(
                await s.scalars(select(RunRow.workflow_id).where(RunRow.customer_id == customer_id))
            )

"""Group commit for the API's hot path: concurrent requests' small writes (event claims, run
index rows, event results) share one transaction instead of queueing for one each."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import EventRow, RunRow

MAX_BATCH = 500


@dataclass
class _Pending:
    claims: list[tuple[dict[str, Any], asyncio.Future[bool]]] = field(default_factory=list)
    runs: list[tuple[dict[str, Any], asyncio.Future[bool]]] = field(default_factory=list)
    results: list[tuple[dict[str, Any], asyncio.Future[bool]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.claims) + len(self.runs) + len(self.results)


class WriteBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._pending = _Pending()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def claim(self, event_id: str, name: str, customer_id: str) -> bool:
        row = {
            "event_id": event_id,
            "name": name,
            "customer_id": customer_id,
            "received_at": datetime.now(UTC),
            "result": {},
        }
        return await self._submit(self._pending.claims, row)

    async def add_run(self, workflow_id: str, scenario: str, customer_id: str) -> None:
        row = {
            "workflow_id": workflow_id,
            "scenario": scenario,
            "customer_id": customer_id,
            "started_at": datetime.now(UTC),
        }
        await self._submit(self._pending.runs, row)

    async def complete(
        self, event_id: str, result: dict[str, Any], runs: list[tuple[str, str, str]]
    ) -> None:
        """Record the event's result and the runs it started, in one flush."""
        now = datetime.now(UTC)
        waits = [self._submit(self._pending.results, {"b_event_id": event_id, "result": result})]
        for wid, scenario, customer in runs:
            waits.append(
                self._submit(
                    self._pending.runs,
                    {
                        "workflow_id": wid,
                        "scenario": scenario,
                        "customer_id": customer,
                        "started_at": now,
                    },
                )
            )
        await asyncio.gather(*waits)

    async def _submit(
        self, queue: list[tuple[dict[str, Any], asyncio.Future[bool]]], row: dict[str, Any]
    ) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        queue.append((row, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flusher())
        return await future

    async def _flusher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, _Pending()
            if not len(batch):
                continue
            try:
                await self._write(batch)
            except Exception as exc:  # every waiter learns of the failure; none is lost
                for _, future in batch.claims + batch.runs + batch.results:
                    if not future.done():
                        future.set_exception(exc)

    async def _write(self, batch: _Pending) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            new: set[str] = set()
            for chunk in _chunks(batch.claims):
                rows = [r for r, _ in chunk]
                done = await s.execute(
                    insert(EventRow)
                    .values(rows)
                    .on_conflict_do_nothing()
                    .returning(EventRow.event_id)
                )
                new.update(done.scalars())
            for chunk in _chunks(batch.runs):
                await s.execute(
                    insert(RunRow).values([r for r, _ in chunk]).on_conflict_do_nothing()
                )
            if batch.results:
                stmt = update(EventRow).where(EventRow.event_id == bindparam("b_event_id"))
                conn = await s.connection()
                await conn.execute(
                    stmt.values(result=bindparam("result")), [r for r, _ in batch.results]
                )
        # Answer only after the commit: a claim is not a claim until it is durable.
        seen: set[str] = set()
        for row, future in batch.claims:
            # The same id twice in one batch: only the first is new.
            future.set_result(row["event_id"] in new and row["event_id"] not in seen)
            seen.add(row["event_id"])
        for _, future in batch.runs + batch.results:
            future.set_result(True)


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + MAX_BATCH] for i in range(0, len(items), MAX_BATCH)]

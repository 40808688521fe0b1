"""The send log in SQL (see orchestrator.engine.sendlog for the protocol)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.sendlog import COUNTED, SendRecord
from orchestrator.language.model import FrequencyCap
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import SendRow


class _CapReached(Exception):
    def __init__(self, cap: FrequencyCap) -> None:
        self.cap = cap


class SqlSendLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> SendRecord | None:
        async with self.sessions() as s:
            row = await s.get(SendRow, key)
        if row is None:
            return None
        return SendRecord(
            key=row.key,
            customer_id=row.customer_id,
            scenario=row.scenario,
            step=row.step,
            channel=row.channel,
            template=row.template,
            status=row.status,
            at=row.sent_at or row.created_at,
            reason=row.reason,
            provider_id=row.provider_id,
        )

    async def record(self, entry: SendRecord) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            row = await s.get(SendRow, entry.key)
            if row is None:
                row = SendRow(key=entry.key, created_at=entry.at)
                s.add(row)
            elif row.status == "sent":
                return  # a sent message stays sent; a late duplicate must not overwrite it
            row.run_id = entry.run
            row.customer_id, row.scenario, row.step = entry.customer_id, entry.scenario, entry.step
            row.channel, row.template, row.status = entry.channel, entry.template, entry.status
            row.reason, row.provider_id = entry.reason, entry.provider_id
            row.sent_at = entry.at if entry.status in COUNTED else None
            row.version, row.test, row.body = entry.version, entry.test, entry.body or None

    async def sent_since(self, customer_id: str, since: datetime) -> list[tuple[datetime, str]]:
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(SendRow.sent_at, SendRow.channel).where(
                        SendRow.customer_id == customer_id,
                        SendRow.status.in_(COUNTED),
                        SendRow.sent_at > since,
                    )
                )
            ).all()
        return [(at, ch) for at, ch in rows if at is not None]

    async def reserve(self, entry: SendRecord, caps: list[FrequencyCap]) -> FrequencyCap | None:
        try:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                await self._reserve(s, entry, caps)
        except _CapReached as full:
            return full.cap  # the transaction rolled back: nothing was written
        return None

    async def _reserve(self, s: AsyncSession, entry: SendRecord, caps: list[FrequencyCap]) -> None:
        if dialect_of(s) == "postgresql":
            # One customer's reservations queue here; other customers' do not wait.
            await s.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(entry.customer_id, 0)))
            )
        row = await s.get(SendRow, entry.key)
        if row is not None and row.status in COUNTED:
            return
        if row is None:
            # Written before counting: on SQLite this transaction then holds the database's
            # write lock, so a second writer waits instead of counting stale rows.
            row = SendRow(key=entry.key, created_at=entry.at)
            s.add(row)
        row.run_id, row.customer_id, row.scenario = entry.run, entry.customer_id, entry.scenario
        row.version = entry.version
        row.step, row.channel, row.template = entry.step, entry.channel, entry.template
        row.status, row.reason, row.sent_at = "reserved", "", entry.at
        await s.flush()
        for cap in caps:
            if cap.channel is not None and cap.channel != entry.channel:
                continue
            since = entry.at - timedelta(seconds=cap.window_s)
            query = select(func.count()).where(
                SendRow.customer_id == entry.customer_id,
                SendRow.status.in_(COUNTED),
                SendRow.sent_at > since,
                SendRow.sent_at <= entry.at,
            )
            if cap.channel is not None:
                query = query.where(SendRow.channel == cap.channel)
            if (await s.scalar(query) or 0) > cap.limit:  # the count includes this entry
                raise _CapReached(cap)

    async def mark(self, key: str, field: str, at: datetime) -> bool:
        """Set opened_at / clicked_at / delivered_at / replied_at once (the first time counts)."""
        column = {
            "opened": SendRow.opened_at,
            "clicked": SendRow.clicked_at,
            "delivered": SendRow.delivered_at,
            "replied": SendRow.replied_at,
        }[field]
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            done = await s.execute(
                update(SendRow).where(SendRow.key == key, column.is_(None)).values({column.key: at})
            )
        return bool(getattr(done, "rowcount", 0))

    async def by_provider_id(self, provider_id: str) -> SendRecord | None:
        async with self.sessions() as s:
            key = await s.scalar(select(SendRow.key).where(SendRow.provider_id == provider_id))
        return await self.get(key) if key else None

    async def set_status(self, key: str, status: str, reason: str = "") -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(
                update(SendRow).where(SendRow.key == key).values(status=status, reason=reason)
            )

    async def mark_reply(self, customer_id: str, channel: str, at: datetime) -> bool:
        """A reply answers the latest message sent to the customer on that channel."""
        async with self.sessions() as s:
            key = await s.scalar(
                select(SendRow.key)
                .where(
                    SendRow.customer_id == customer_id,
                    SendRow.channel == channel,
                    SendRow.status == "sent",
                )
                .order_by(SendRow.sent_at.desc())
                .limit(1)
            )
        return await self.mark(key, "replied", at) if key else False

    async def forget_bodies(self, customer_id: str) -> None:
        """Erasure (GDPR): kept messages of the customer go with the profile."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(
                update(SendRow).where(SendRow.customer_id == customer_id).values(body=None)
            )

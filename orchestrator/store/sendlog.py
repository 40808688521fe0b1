"""The send log in SQL (see orchestrator.engine.sendlog for the protocol)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.sendlog import (
    COUNTED,
    FINAL,
    HANDED,
    NOT_YET,
    STOPPED_BY,
    SendRecord,
    stopped,
)
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
        return None if row is None else _record(row)

    async def record(self, entry: SendRecord) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            row = await s.get(SendRow, entry.key)
            if row is not None and row.status in FINAL:
                return  # a sent message stays sent; a late duplicate must not overwrite it
            _write(s, row, entry)

    async def hand_over(self, entry: SendRecord) -> bool:
        # One conditional statement each (here and in ``stop``): the database decides the
        # race on its row lock, where a read-then-write would let both sides win.
        not_stopped = ~(
            (SendRow.status == "skipped") & SendRow.reason.startswith(STOPPED_BY, autoescape=True)
        )
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            done = await s.execute(
                update(SendRow)
                .where(SendRow.key == entry.key, not_stopped)
                .values(_columns(entry))
                .execution_options(synchronize_session=False)
            )
            if _count(done):
                return True
            if await s.get(SendRow, entry.key) is not None:
                return False  # stopped by its run
            _write(s, None, entry)  # never reserved (a direct call): the intent alone
        return True

    async def stop(self, entry: SendRecord) -> SendRecord:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            for _ in range(2):
                done = await s.execute(
                    update(SendRow)
                    .where(SendRow.key == entry.key, SendRow.status.in_(NOT_YET))
                    .values(_columns(entry))
                    .execution_options(synchronize_session=False)
                )
                if _count(done):
                    break
                # Not reserved yet: stop it before it is. A reservation inserted meanwhile
                # wins the insert, and the update above then stops it.
                insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
                added = await s.execute(
                    insert(SendRow)
                    .values(key=entry.key, created_at=entry.at, **_columns(entry))
                    .on_conflict_do_nothing()
                )
                if _count(added):
                    break
            row = await s.get(SendRow, entry.key, populate_existing=True)
            assert row is not None
            return _record(row)

    async def defer(self, entry: SendRecord) -> None:
        # Conditional statements, as ``stop``: a stop racing this deferral wins or loses whole.
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            held = {**_columns(entry), "held": entry.held}
            done = await s.execute(
                update(SendRow)
                .where(SendRow.key == entry.key, SendRow.status.in_(NOT_YET))
                .values(held)
                .execution_options(synchronize_session=False)
            )
            if _count(done):
                return
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            added = await s.execute(
                insert(SendRow)
                .values(key=entry.key, created_at=entry.at, **held)
                .on_conflict_do_nothing()
            )
            if _count(added):
                return
            await s.execute(
                update(SendRow)
                .where(SendRow.key == entry.key, SendRow.status.in_(HANDED))
                .values(held=entry.held)
                .execution_options(synchronize_session=False)
            )

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
        if row is not None and (row.status in COUNTED or stopped(_record(row))):
            return  # kept; a stopped send is refused at its handover
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

    async def claim_test(self, entry: SendRecord, *, limit: int, window: timedelta) -> bool:
        """One atomic step: record ``entry`` (a test send, its reason naming who sends it)
        unless that sender already made ``limit`` test sends within ``window``."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            if dialect_of(s) == "postgresql":  # one sender's claims queue here
                await s.execute(
                    select(func.pg_advisory_xact_lock(func.hashtextextended(entry.reason, 1)))
                )
            made = await s.scalar(
                select(func.count()).where(
                    SendRow.customer_id == "",  # test sends have none: ix_send_log_customer_sent
                    SendRow.test.is_(True),
                    SendRow.reason == entry.reason,
                    SendRow.created_at > entry.at - window,
                )
            )
            if (made or 0) >= limit:
                return False
            _write(s, None, entry)
        return True

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


def _record(row: SendRow) -> SendRecord:
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
        run=row.run_id,
        version=row.version,
        body=row.body or "",
        test=row.test,
        held=row.held,
    )


def _columns(entry: SendRecord) -> dict[str, Any]:
    return {
        "run_id": entry.run,
        "customer_id": entry.customer_id,
        "scenario": entry.scenario,
        "step": entry.step,
        "channel": entry.channel,
        "template": entry.template,
        "status": entry.status,
        "reason": entry.reason,
        "provider_id": entry.provider_id,
        "sent_at": entry.at if entry.status in COUNTED else None,
        "version": entry.version,
        "test": entry.test,
        "body": entry.body or None,
    }


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _write(s: AsyncSession, row: SendRow | None, entry: SendRecord) -> SendRow:
    """``entry`` into ``row`` (a new row when None), inside the caller's transaction."""
    if row is None:
        row = SendRow(key=entry.key, created_at=entry.at)
        s.add(row)
    row.run_id = entry.run
    row.customer_id, row.scenario, row.step = entry.customer_id, entry.scenario, entry.step
    row.channel, row.template, row.status = entry.channel, entry.template, entry.status
    row.reason, row.provider_id = entry.reason, entry.provider_id
    row.sent_at = entry.at if entry.status in COUNTED else None
    row.version, row.test, row.body = entry.version, entry.test, entry.body or None
    return row

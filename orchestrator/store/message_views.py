"""Reading the send log and contacts for the console: recent messages (filtered by scenario,
period and skip or hold reason), how many of them ended which way, one message, a customer's
messages, recently changed contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.tables import ContactRow, SendRow

#: Statuses whose reason says why the message did not go.
NOT_SENT = ("skipped", "failed")


@dataclass
class LoggedMessage:
    key: str
    run: str
    customer_id: str
    scenario: str
    version: str
    step: str
    channel: str
    template: str
    status: str
    reason: str
    body: str
    test: bool
    at: datetime
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    replied_at: datetime | None
    #: Why it was held back before it went (quiet hours, ...), if it was.
    held: str = ""

    @property
    def workflow_id(self) -> str:
        """The run's workflow id: the run reference without its chain suffix."""
        return self.run.rsplit("/", 1)[0] if "/" in self.run else self.run


def _logged(r: SendRow) -> LoggedMessage:
    return LoggedMessage(
        key=r.key,
        run=r.run_id,
        customer_id=r.customer_id,
        scenario=r.scenario,
        version=r.version,
        step=r.step,
        channel=r.channel,
        template=r.template,
        status=r.status,
        reason=r.reason,
        body=r.body or "",
        test=r.test,
        at=r.sent_at or r.created_at,
        delivered_at=r.delivered_at,
        opened_at=r.opened_at,
        clicked_at=r.clicked_at,
        replied_at=r.replied_at,
        held=r.held,
    )


@dataclass(frozen=True)
class Wanted:
    """Which messages: every filter left empty matches all."""

    scenario: str = ""
    customer_id: str = ""
    #: Created at or after this moment.
    since: datetime | None = None
    #: A reason code (``too_late``, ``quiet_hours``): skipped or failed for it, or held for it.
    reason: str = ""
    #: One run (``engine.ids.chain_ref``): its messages, whatever their scenario or age.
    run: str = ""

    def where(self) -> list[Any]:
        found: list[Any] = []
        if self.run:
            found.append(SendRow.run_id == self.run)
        if self.scenario:
            found.append(SendRow.scenario == self.scenario)
        if self.customer_id:
            found.append(SendRow.customer_id == self.customer_id)
        if self.since is not None:
            found.append(SendRow.created_at >= self.since)
        if self.reason:
            code = self.reason
            found.append(
                or_(
                    SendRow.status.in_(NOT_SENT)
                    & or_(
                        SendRow.reason == code,
                        SendRow.reason.startswith(f"{code}:", autoescape=True),
                    ),
                    SendRow.held == code,
                )
            )
        return found


@dataclass(frozen=True)
class FateCount:
    """How many messages have one fate: status, reason (the send log's, in full) and hold."""

    status: str
    reason: str
    held: str
    count: int


class SqlMessages:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def recent(self, wanted: Wanted | None = None, limit: int = 100) -> list[LoggedMessage]:
        query = (
            select(SendRow)
            .where(*(wanted or Wanted()).where())
            .order_by(SendRow.created_at.desc(), SendRow.key)
            .limit(limit)
        )
        async with self.sessions() as s:
            return [_logged(r) for r in await s.scalars(query)]

    async def fates(self, wanted: Wanted) -> list[FateCount]:
        """How many messages ended which way, counted by the database over everything
        ``wanted`` matches (not only the page's rows); test sends are left out."""
        query = (
            select(SendRow.status, SendRow.reason, SendRow.held, func.count())
            .where(SendRow.test.is_(False), *wanted.where())
            .group_by(SendRow.status, SendRow.reason, SendRow.held)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        return [FateCount(status, reason, held, n) for status, reason, held, n in rows]

    async def one(self, key: str) -> LoggedMessage | None:
        async with self.sessions() as s:
            row = await s.get(SendRow, key)
        return _logged(row) if row is not None else None

    async def of_customer(self, customer_id: str, limit: int = 100) -> list[LoggedMessage]:
        return await self.recent(Wanted(customer_id=customer_id), limit)

    async def recent_contacts(self, limit: int = 30) -> list[tuple[str, str, datetime]]:
        """(id, display name, updated) of the contacts changed last."""
        query = (
            select(
                ContactRow.id, ContactRow.first_name, ContactRow.last_name, ContactRow.updated_at
            )
            .order_by(ContactRow.updated_at.desc())
            .limit(limit)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        return [(i, " ".join(n for n in (f, last) if n), at) for i, f, last, at in rows]

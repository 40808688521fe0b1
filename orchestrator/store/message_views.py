"""Reading the send log and contacts for the console: recent messages, one message, a
customer's messages, recently changed contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.tables import ContactRow, SendRow


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
    )


class SqlMessages:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def recent(self, scenario: str = "", limit: int = 100) -> list[LoggedMessage]:
        query = select(SendRow).order_by(SendRow.created_at.desc()).limit(limit)
        if scenario:
            query = query.where(SendRow.scenario == scenario)
        async with self.sessions() as s:
            return [_logged(r) for r in await s.scalars(query)]

    async def one(self, key: str) -> LoggedMessage | None:
        async with self.sessions() as s:
            row = await s.get(SendRow, key)
        return _logged(row) if row is not None else None

    async def of_customer(self, customer_id: str, limit: int = 100) -> list[LoggedMessage]:
        query = (
            select(SendRow)
            .where(SendRow.customer_id == customer_id)
            .order_by(SendRow.created_at.desc())
            .limit(limit)
        )
        async with self.sessions() as s:
            return [_logged(r) for r in await s.scalars(query)]

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

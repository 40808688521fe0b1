"""Reaction times from the send log and the held sends (the engine's ``timing.ReactionTimes``
and ``timing.SendTimeLog``), and what the console reads of them.

- A customer's profile reads their latest ``OWN_LIMIT`` reacted messages through
  ``ix_send_log_customer_sent`` (customer, status, sent_at): bounded whatever the log's size.
- The shop's profile reads the latest ``shop_sample`` reacted messages of everybody, newest
  first through ``ix_send_log_sent_at``, with each customer's zone (contacts), and keeps them
  for ``shop_ttl_s`` seconds (10 minutes): a shop-wide habit moves slowly. ``bench/
  send_time.py --store`` times both on a million-row send log.
- A message's reaction time is the first of the asked kinds (opened, clicked, replied).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.send_time import Reaction
from orchestrator.engine.timing import OWN_LIMIT, SendTimeRecord
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import ContactRow, SendRow, SendTimeRow

COLUMNS = {
    "opened": SendRow.opened_at,
    "clicked": SendRow.clicked_at,
    "replied": SendRow.replied_at,
}
#: The shop's latest reactions its profile is made of.
SHOP_SAMPLE = 5000


def _kinds(kinds: Sequence[str]) -> list[str]:
    return [k for k in kinds if k in COLUMNS] or list(COLUMNS)


def _first(row: Any, kinds: list[str], channel: str, timezone: str = "") -> Reaction | None:
    """The message's first reaction of ``kinds`` (its columns are the row's 2nd, 3rd…)."""
    found = [(at, kind) for kind, at in zip(kinds, row[1:], strict=False) if at is not None]
    if not found:
        return None
    at, kind = min(found)
    return Reaction(at, channel, kind, timezone)


@dataclass(frozen=True)
class PendingHour:
    """Held sends still to go at one local hour of the day."""

    hour: int
    count: int


class SqlSendTimes:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        shop_ttl_s: float = 600.0,
        shop_sample: int = SHOP_SAMPLE,
    ) -> None:
        self.sessions = sessions
        self.shop_ttl_s = shop_ttl_s
        self.shop_sample = shop_sample
        self._shop: dict[tuple[str, ...], tuple[float, list[Reaction]]] = {}

    # -- engine.timing.ReactionTimes -----------------------------------------------------------
    async def of_customer(
        self, customer_id: str, kinds: Sequence[str], limit: int = OWN_LIMIT
    ) -> list[Reaction]:
        wanted = _kinds(kinds)
        columns = [COLUMNS[k] for k in wanted]
        query = (
            select(SendRow.channel, *columns)
            .where(
                SendRow.customer_id == customer_id,
                SendRow.status == "sent",
                SendRow.test.is_(False),
                or_(*(c.is_not(None) for c in columns)),
            )
            .order_by(SendRow.sent_at.desc())
            .limit(limit)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        return [r for row in rows if (r := _first(row, wanted, row[0])) is not None]

    async def of_shop(self, kinds: Sequence[str]) -> list[Reaction]:
        key = tuple(sorted(_kinds(kinds)))
        kept = self._shop.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.shop_ttl_s:
            return kept[1]
        found = await self.shop_sample_now(kinds)
        self._shop[key] = (time.monotonic(), found)
        return found

    async def shop_sample_now(self, kinds: Sequence[str]) -> list[Reaction]:
        """The shop's latest reactions, read now (``of_shop`` keeps them a while)."""
        wanted = _kinds(kinds)
        columns = [COLUMNS[k] for k in wanted]
        query = (
            select(SendRow.channel, *columns, ContactRow.timezone)
            .outerjoin(ContactRow, ContactRow.id == SendRow.customer_id)
            .where(
                SendRow.sent_at.is_not(None),
                SendRow.status == "sent",
                SendRow.test.is_(False),
                or_(*(c.is_not(None) for c in columns)),
            )
            .order_by(SendRow.sent_at.desc())
            .limit(self.shop_sample)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        out = []
        for row in rows:
            reaction = _first(row[:-1], wanted, row[0], str(row[-1] or ""))
            if reaction is not None:
                out.append(reaction)
        return out

    # -- engine.timing.SendTimeLog -------------------------------------------------------------
    async def record(self, entry: SendTimeRecord) -> None:
        values = {
            "key": entry.key,
            "customer_id": entry.customer_id,
            "scenario": entry.scenario,
            "version": entry.version,
            "step": entry.step,
            "channel": entry.channel,
            "decided_at": entry.decided_at,
            "send_at": entry.send_at,
            "local_day": entry.local_day,
            "local_hour": entry.local_hour,
            "source": entry.source,
        }
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            statement = insert(SendTimeRow).values(values)
            # A retried decision (the same key) writes its moment again.
            await s.execute(
                statement.on_conflict_do_update(
                    index_elements=[SendTimeRow.key],
                    set_={k: statement.excluded[k] for k in values if k != "key"},
                )
            )

    # -- the console ---------------------------------------------------------------------------
    def _pending(self, now: datetime) -> Any:
        sent = exists(select(SendRow.key).where(SendRow.key == SendTimeRow.key))
        return (SendTimeRow.send_at > now, ~sent)

    async def pending_by_hour(self, scenario: str, now: datetime) -> list[PendingHour]:
        """Held sends of ``scenario`` still to go, by local hour of the day (0-23, all)."""
        query = (
            select(SendTimeRow.local_hour, func.count())
            .where(SendTimeRow.scenario == scenario, *self._pending(now))
            .group_by(SendTimeRow.local_hour)
        )
        async with self.sessions() as s:
            counts = {int(hour): int(n) for hour, n in (await s.execute(query)).all()}
        return [PendingHour(h, counts.get(h, 0)) for h in range(24)]

    async def pending_of(self, customer_id: str, now: datetime) -> list[SendTimeRecord]:
        """The customer's held sends still to go, soonest first."""
        query = (
            select(SendTimeRow)
            .where(SendTimeRow.customer_id == customer_id, *self._pending(now))
            .order_by(SendTimeRow.send_at)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).scalars().all()
        return [
            SendTimeRecord(
                key=r.key,
                customer_id=r.customer_id,
                scenario=r.scenario,
                version=r.version,
                step=r.step,
                channel=r.channel,
                decided_at=r.decided_at,
                send_at=r.send_at,
                local_day=r.local_day,
                local_hour=r.local_hour,
                source=r.source,
            )
            for r in rows
        ]

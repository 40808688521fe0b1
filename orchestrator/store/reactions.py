"""Reactions per channel from the send log, for learned ladder orders and costed rungs (the
engine's ``learning.ReactionStats``).

A message counts as sent when its row says ``sent`` (test sends excluded) and as reacted when
it has any of the scenario's reaction columns set (``opened_at``, ``clicked_at``,
``replied_at``), whichever scenario sent it. One customer's figures come through the index
``ix_send_log_customer_sent``; the shop-wide figures read the whole log, so they are kept for
``shop_ttl_s`` seconds (10 minutes): a prior moves slowly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.affinity import Tally
from orchestrator.store.tables import SendRow

COLUMNS = {
    "opened": SendRow.opened_at,
    "clicked": SendRow.clicked_at,
    "replied": SendRow.replied_at,
}


def _reacted(kinds: Sequence[str]) -> Any:
    columns = [COLUMNS[k] for k in kinds if k in COLUMNS] or list(COLUMNS.values())
    return func.count(case((or_(*(c.is_not(None) for c in columns)), 1)))


class SqlReactionStats:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, shop_ttl_s: float = 600.0
    ) -> None:
        self.sessions = sessions
        self.shop_ttl_s = shop_ttl_s
        self._shop: dict[tuple[str, ...], tuple[float, dict[str, Tally]]] = {}

    async def _tallies(self, kinds: Sequence[str], *where: Any) -> dict[str, Tally]:
        query = (
            select(SendRow.channel, func.count(), _reacted(kinds))
            .where(SendRow.status == "sent", SendRow.test.is_(False), *where)
            .group_by(SendRow.channel)
        )
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        return {channel: Tally(int(n), int(r)) for channel, n, r in rows}

    async def of_customer(self, customer_id: str, kinds: Sequence[str]) -> dict[str, Tally]:
        return await self._tallies(kinds, SendRow.customer_id == customer_id)

    async def of_shop(self, kinds: Sequence[str]) -> dict[str, Tally]:
        key = tuple(sorted(kinds))
        kept = self._shop.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.shop_ttl_s:
            return kept[1]
        found = await self._tallies(kinds)
        self._shop[key] = (time.monotonic(), found)
        return found

"""Short codes: ``/s/<code>`` stands for ``/t/c/<signed click token>`` (tracked SMS links),
``/p/<code>`` for ``/p/<signed preferences token>`` (the preference center from SMS, Telegram
and web push).

The code only points at a token; the token still carries the signature, the expiry, the kind
(a click code opens no preference center, nor the reverse) and for clicks the one URL it may
redirect to, so a guessed code leads nowhere a real link would not."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import ShortLinkRow


class SqlShortLinks:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def save(self, pairs: list[tuple[str, str]], customer_id: str = "") -> None:
        if not pairs:
            return
        now = datetime.now(UTC)
        whose = customer_id or None
        rows = [
            {"code": code, "token": token, "created_at": now, "customer_id": whose}
            for code, token in pairs
        ]
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            await s.execute(insert(ShortLinkRow).on_conflict_do_nothing(), rows)

    async def token(self, code: str) -> str | None:
        async with self.sessions() as s:
            row = await s.get(ShortLinkRow, code)
        return row.token if row is not None else None

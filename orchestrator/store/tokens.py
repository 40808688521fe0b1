"""One-time uses: Telegram link tokens and Telegram update ids (replays are refused)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.db import write_lock
from orchestrator.store.tables import TokenUseRow


class TokenUses:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def first_use(self, token_id: str) -> bool:
        """True the first time ``token_id`` is seen, False on every replay."""
        try:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                s.add(TokenUseRow(token_id=token_id[:64], used_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        return True

    async def forget(self, token_id: str) -> None:
        """Undo ``first_use`` for work that did not happen, so its retry is not refused."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await s.execute(delete(TokenUseRow).where(TokenUseRow.token_id == token_id[:64]))

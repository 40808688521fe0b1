"""Server-side login sessions of the console and the codec server (``console_sessions``),
keyed by the SHA-256 of the id the cookie signs; ``key_id`` names the API key a session
logged in with, ``password_tag`` a keyed fingerprint of the console password it used.

A session lives until its user logs out, it sits idle too long, it reaches its absolute
lifetime, the API key it logged in with is revoked (or loses the ``console`` scope), or the
console password it logged in with changes. Every check reads the store, so an ended session
is refused by every process at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.tables import ApiKeyRow, ConsoleSessionRow


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Lifetimes:
    #: Ends a session nobody used for this long.
    idle: timedelta = timedelta(minutes=30)
    #: Ends every session this long after its login, used or not.
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class Found:
    id_hash: str
    who: str


class SqlSessions:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        lifetimes: Lifetimes | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.sessions = sessions
        self.lifetimes = lifetimes or Lifetimes()
        self._clock = clock

    async def open(
        self, id_hash: str, *, app: str, who: str, key_id: str | None, password_tag: str | None
    ) -> None:
        now = self._clock()
        async with self.sessions() as s, s.begin():
            s.add(
                ConsoleSessionRow(
                    id_hash=id_hash,
                    who=who,
                    key_id=key_id,
                    password_tag=password_tag,
                    app=app,
                    created_at=now,
                    seen_at=now,
                )
            )

    async def find(self, id_hash: str, *, app: str, password_tag: str | None) -> Found | None:
        """The live session, its last use recorded; None (and the row gone) if it ended.
        ``password_tag``: the fingerprint of this process's console password (None: none)."""
        now = self._clock()
        async with self.sessions() as s, s.begin():
            row = await s.get(ConsoleSessionRow, id_hash)
            if row is None or row.app != app:
                return None
            live = (
                now - row.seen_at < self.lifetimes.idle
                and now - row.created_at < self.lifetimes.absolute
                and (row.password_tag is None or row.password_tag == password_tag)
            )
            if live and row.key_id is not None:
                key = await s.get(ApiKeyRow, row.key_id)
                live = (
                    key is not None
                    and key.revoked_at is None
                    # NULL: a key made before scopes, which holds them all
                    and (key.scopes is None or "console" in key.scopes.split(","))
                )
            if not live:
                await s.delete(row)
                return None
            # One write a minute at most per session (or sooner with a short idle period).
            if now - row.seen_at >= min(timedelta(minutes=1), self.lifetimes.idle / 4):
                row.seen_at = now
            return Found(row.id_hash, row.who)

    async def end(self, id_hash: str) -> None:
        async with self.sessions() as s, s.begin():
            await s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))

    async def end_other_passwords(self, password_tag: str | None) -> int:
        """End the sessions logged in with a console password other than the current one
        (every process refuses them from their next request); how many ended."""
        async with self.sessions() as s, s.begin():
            stale = await s.scalars(
                select(ConsoleSessionRow.id_hash).where(
                    ConsoleSessionRow.password_tag.is_not(None),
                    ConsoleSessionRow.password_tag != (password_tag or ""),
                )
            )
            ids = list(stale)
            if ids:
                await s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash.in_(ids)))
            return len(ids)

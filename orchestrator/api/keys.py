"""API keys for the shop backend: shown once, stored as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.tables import ApiKeyRow

PREFIX = "omni_"


def _hash(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 (no slow KDF) is safe at rest.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._cache: dict[str, tuple[str, bool]] = {}

    async def create(self, name: str) -> str:
        """A new key; the plain text is returned once and never stored."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self.sessions() as s, s.begin():
            s.add(
                ApiKeyRow(
                    id=key_id, name=name, secret_hash=_hash(secret), created_at=datetime.now(UTC)
                )
            )
        return f"{PREFIX}{key_id}.{secret}"

    async def revoke(self, key_id: str) -> bool:
        async with self.sessions() as s, s.begin():
            row = await s.get(ApiKeyRow, key_id)
            if row is None:
                return False
            row.revoked_at = datetime.now(UTC)
        self._cache.pop(key_id, None)
        return True

    async def verify(self, presented: str) -> str | None:
        """The key id if ``presented`` is a valid, unrevoked key; otherwise None."""
        if not presented.startswith(PREFIX) or "." not in presented:
            return None
        key_id, _, secret = presented[len(PREFIX) :].partition(".")
        cached = self._cache.get(key_id)
        if cached is None:
            async with self.sessions() as s:
                row = await s.get(ApiKeyRow, key_id)
            if row is None:
                return None
            cached = (row.secret_hash, row.revoked_at is None)
            self._cache[key_id] = cached
        stored, active = cached
        return key_id if hmac.compare_digest(stored, _hash(secret)) and active else None

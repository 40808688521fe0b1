"""API keys for the shop backend: shown once, stored as a hash, compared in constant time.

Verifications are cached per process for ``cache_ttl`` seconds: a key revoked by another
process (``omni api-key revoke``, another API replica) stops working everywhere within that
time, while a busy backend still costs one database read per key and TTL, not per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.tables import ApiKeyRow

PREFIX = "omni_"
#: Seconds a verification is trusted before the store is read again (revocation delay).
CACHE_TTL = 2.0


def _hash(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 (no slow KDF) is safe at rest.
    return hashlib.sha256(secret.encode()).hexdigest()


def key_id_of(presented: str) -> str:
    """The id part of ``omni_<id>.<secret>`` (what ``omni api-key revoke`` takes), or ""."""
    if not presented.startswith(PREFIX) or "." not in presented:
        return ""
    return presented[len(PREFIX) :].partition(".")[0]


class ApiKeys:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cache_ttl: float = CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.cache_ttl = cache_ttl
        self._clock = clock
        #: key id -> (secret hash, active, read at)
        self._cache: dict[str, tuple[str, bool, float]] = {}

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
        """Revoke by id (or by the whole key); every process refuses it within ``cache_ttl``."""
        key_id = key_id_of(key_id) or key_id
        async with self.sessions() as s, s.begin():
            row = await s.get(ApiKeyRow, key_id)
            if row is None:
                return False
            row.revoked_at = datetime.now(UTC)
        self._cache.pop(key_id, None)
        return True

    async def verify(self, presented: str) -> str | None:
        """The key id if ``presented`` is a valid, unrevoked key; otherwise None."""
        key_id = key_id_of(presented)
        if not key_id:
            return None
        secret = presented.partition(".")[2]
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is None or now - cached[2] >= self.cache_ttl:
            async with self.sessions() as s:
                row = await s.get(ApiKeyRow, key_id)
            if row is None:
                self._cache.pop(key_id, None)
                return None
            cached = (row.secret_hash, row.revoked_at is None, now)
            self._cache[key_id] = cached
        stored, active, _ = cached
        return key_id if hmac.compare_digest(stored, _hash(secret)) and active else None

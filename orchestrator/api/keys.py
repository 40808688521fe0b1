"""API keys for the shop backend: shown once, stored as a hash, compared in constant time, each
with the scopes it was created with (least privilege: a shop backend's key needs ``ingest`` and
``read``, nothing else).

Verifications are cached per process for ``cache_ttl`` seconds: a key revoked by another
process (``omni api-key revoke``, another API replica) stops working everywhere within that
time, while a busy backend still costs one database read per key and TTL, not per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.api.scopes import ALL_SCOPES, DEFAULT_SCOPES, SCOPES, parse_scopes
from orchestrator.store.tables import ApiKeyRow

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_SCOPES",
    "SCOPES",
    "ApiKeys",
    "Grant",
    "key_id_of",
    "parse_scopes",
    "scopes_of",
]

PREFIX = "omni_"
#: Seconds a verification is trusted before the store is read again (revocation delay).
CACHE_TTL = 2.0


def scopes_of(row: ApiKeyRow) -> frozenset[str]:
    """A key's scopes; a key made before scopes existed (NULL) keeps every scope, and
    ``omni doctor`` names it until it is replaced."""
    return ALL_SCOPES if row.scopes is None else frozenset(filter(None, row.scopes.split(",")))


@dataclass(frozen=True)
class Grant:
    """A verified key: its id and what it may do."""

    key_id: str
    scopes: frozenset[str]


def _hash(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 (no slow KDF) is safe at rest.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


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
        #: key id -> (secret hash, scopes if active else None, read at)
        self._cache: dict[str, tuple[str, frozenset[str] | None, float]] = {}

    async def create(self, name: str, *, scopes: Iterable[str]) -> str:
        """A new key with ``scopes``; the plain text is returned once and never stored."""
        granted = parse_scopes(scopes)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self.sessions() as s, s.begin():
            s.add(
                ApiKeyRow(
                    id=key_id,
                    name=name,
                    secret_hash=_hash(secret),
                    created_at=datetime.now(UTC),
                    scopes=",".join(sorted(granted)),
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

    async def verify(self, presented: str) -> Grant | None:
        """The key's id and scopes if ``presented`` is a valid, unrevoked key; otherwise None."""
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
            cached = (row.secret_hash, scopes_of(row) if row.revoked_at is None else None, now)
            self._cache[key_id] = cached
        stored, scopes, _ = cached
        if not hmac.compare_digest(stored.encode(), _hash(secret).encode()) or scopes is None:
            return None
        return Grant(key_id, scopes)

    async def unscoped(self) -> list[str]:
        """Ids of active keys made before scopes existed (they hold every scope)."""
        async with self.sessions() as s:
            found = await s.scalars(
                select(ApiKeyRow.id).where(
                    ApiKeyRow.scopes.is_(None), ApiKeyRow.revoked_at.is_(None)
                )
            )
            return list(found)

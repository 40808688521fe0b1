"""Scenario versions' templates, stored once per version (``engine/definitions.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.definitions import Templates
from orchestrator.store.db import write_lock
from orchestrator.store.tables import ScenarioVersionRow


class SqlVersions:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def save(self, version: str, scenario: str, templates: Templates) -> None:
        """Insert once; a version is its content, so an existing row is already right."""
        if await self.load(version) is not None:
            return
        row = ScenarioVersionRow(
            version=version, scenario=scenario, templates=templates, created_at=datetime.now(UTC)
        )
        try:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                s.add(row)
        except IntegrityError:
            pass  # another process stored the same version first

    async def load(self, version: str) -> Templates | None:
        async with self.sessions() as s:
            row = await s.get(ScenarioVersionRow, version)
        return dict(row.templates) if row is not None else None

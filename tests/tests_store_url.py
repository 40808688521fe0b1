"""A freshly migrated SQLite database for tests outside tests/store."""

from __future__ import annotations

from pathlib import Path

from orchestrator.store.migrate import upgrade_async


async def migrated_sqlite(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'omni.db'}"
    await upgrade_async(url)
    return url

"""Where the store is: the default SQLite file and the URLs people paste, as text.

Apart from the engine (``db``) so the configuration names the store without importing
SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path


def default_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'omni.db').resolve()}"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the async drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url

"""Fields named as a client writes them: ``events[1].customer_id`` (problems.py's 422s)."""

from __future__ import annotations

from collections.abc import Sequence

#: Union branch tags pydantic puts in an error's location (see models.EventsBody).
TAGS = {"event", "batch"}


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "batch", "events", 1, "customer_id")`` -> ``events[1].customer_id``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and parts[0] in TAGS:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"

"""What an API key may do: its scopes (no imports, so ``omni --help`` stays fast)."""

from __future__ import annotations

from collections.abc import Iterable

#: What each scope allows (README, "The HTTP API"; ``omni api-key create --help``).
SCOPES = {
    "ingest": "POST /v1/events, PUT /v1/contacts/{id}, consents, push subscriptions, "
    "Telegram links",
    "read": "GET /v1/contacts/{id}, GET /v1/contacts/{id}/runs, GET /v1/runs/{id}",
    "console": "log into the console (/console) and the codec server",
    "admin": "DELETE /v1/contacts/{id} (erasure), POST /v1/runs/{id}/cancel",
}
ALL_SCOPES = frozenset(SCOPES)
#: What ``omni api-key create`` gives without ``--scope``: a shop backend's needs.
DEFAULT_SCOPES = frozenset({"ingest", "read"})


def parse_scopes(text: str | Iterable[str]) -> frozenset[str]:
    """``"ingest,read"`` (or an iterable of names) as a set; ValueError naming an unknown one."""
    names = text.split(",") if isinstance(text, str) else list(text)
    wanted = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(wanted - ALL_SCOPES)
    if unknown or not wanted:
        raise ValueError(
            f"unknown scope {', '.join(unknown)!s}; scopes: {', '.join(sorted(SCOPES))}"
            if unknown
            else f"name at least one scope: {', '.join(sorted(SCOPES))}"
        )
    return wanted

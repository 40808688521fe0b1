"""Operators' commands of ``omni``: API keys, VAPID keys, payload codec keys and the codec
server (orchestrator.cli parses the arguments)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from orchestrator.api.scopes import DEFAULT_SCOPES, SCOPES

KEY_HELP = (
    "Create or revoke an API key. A key holds only the scopes it was created with:\n\n"
    + "\n".join(f"  {name:8} {what}" for name, what in SCOPES.items())
    + "\n\n"
    + textwrap.fill(
        "A shop backend needs ingest,read; give console to people who log into the console or "
        "the codec server, and admin only where erasure or cancelling runs is needed. Keys "
        "made before scopes existed hold every scope until revoked ('omni doctor' names "
        "them). Revoking a key ends the console sessions it opened, on every API process "
        "within 2 s.",
        width=88,
    )
)


def add_key_parser(sub: Any) -> None:
    """``omni api-key`` (alias ``omni key``)."""
    p = sub.add_parser(
        "api-key",
        aliases=["key"],
        help="API keys for the shop backend",
        description=KEY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["create", "revoke"])
    p.add_argument("name", help="a label (create) or the key id (revoke)")
    p.add_argument(
        "--scope",
        default=",".join(sorted(DEFAULT_SCOPES)),
        help="create: comma-separated scopes the key holds (default: ingest,read)",
    )


def api_key(args: argparse.Namespace) -> int:
    import asyncio

    from orchestrator.api.keys import ApiKeys
    from orchestrator.api.scopes import parse_scopes
    from orchestrator.app.clients import open_store
    from orchestrator.config.settings import load_settings

    scopes = parse_scopes(args.scope)  # before the store is opened: a typo costs nothing
    settings = load_settings()

    async def act() -> int:
        engine, factory = open_store(settings)
        try:
            keys = ApiKeys(factory)
            if args.action == "create":
                print(await keys.create(args.name, scopes=scopes))
                print(
                    f"scopes: {', '.join(sorted(scopes))}; store it now: it is not shown again",
                    file=sys.stderr,
                )
                return 0
            return 0 if await keys.revoke(args.name) else 1
        finally:
            await engine.dispose()

    return asyncio.run(act())


def vapid_keys(args: argparse.Namespace) -> int:
    from channels.vapid import generate_vapid_keys

    private, public = generate_vapid_keys()
    print("# OMNI_VAPID_PRIVATE_KEY (keep secret):")
    print(private.strip())
    print("# applicationServerKey for pushManager.subscribe() in the browser:")
    print(public)
    return 0


def codec_key(args: argparse.Namespace) -> int:
    from orchestrator.engine.codec_keys import new_key, parse_keys

    entry = new_key(args.id)
    parse_keys([entry])  # the id must be usable
    print("# put it first in OMNI_CODEC_KEYS (keep the old keys after it; keep secret):")
    print(entry)
    return 0


def codec_server(args: argparse.Namespace) -> int:
    import asyncio

    from orchestrator.app.processes import run_codec_server
    from orchestrator.config.redact import configure_logging
    from orchestrator.config.settings import load_settings

    settings = load_settings()
    configure_logging()
    asyncio.run(run_codec_server(settings))
    return 0

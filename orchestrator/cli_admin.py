"""Operators' commands of ``omni``: API keys, VAPID keys, payload codec keys and the codec
server (orchestrator.cli parses the arguments)."""

from __future__ import annotations

import argparse
import sys


def api_key(args: argparse.Namespace) -> int:
    import asyncio

    import worker
    from orchestrator.api.keys import ApiKeys

    async def act() -> int:
        engine, factory = worker.open_store(worker.config_from_env())
        try:
            keys = ApiKeys(factory)
            if args.action == "create":
                print(await keys.create(args.name))
                print("store it now: it is not shown again", file=sys.stderr)
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
    from orchestrator.engine.codec import new_key, parse_keys

    entry = new_key(args.id)
    parse_keys([entry])  # the id must be usable
    print("# put it first in OMNI_CODEC_KEYS (keep the old keys after it; keep secret):")
    print(entry)
    return 0


def codec_server(args: argparse.Namespace) -> int:
    import asyncio

    import worker
    from orchestrator.config.redact import configure_logging

    configure_logging()
    asyncio.run(worker.run_codec_server(worker.config_from_env()))
    return 0

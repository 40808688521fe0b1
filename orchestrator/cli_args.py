"""The ``omni`` command line's arguments, apart from what the commands do (orchestrator/cli.py),
so the docs' examples can be parsed with it without running anything (tests/test_docs.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.cli_admin import add_key_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omni",
        description="Omni: customer events in, durable omnichannel scenarios out.",
        epilog="Start here: 'make run' (omni dev), then 'omni send-event signed_up --customer 42 "
        '--contact ...\' (README, "First message in a minute"). The Temporal CLI is '
        ".venv/bin/temporal. Run 'omni COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    p = sub.add_parser("validate", help="check scenarios and their templates")
    p.add_argument("paths", nargs="*", type=Path, default=[Path("scenarios")])
    p.add_argument("--templates", type=Path, default=Path("templates"))

    p = sub.add_parser("schema", help="print the JSON Schema of the scenario format")
    p.add_argument("--whatsapp", action="store_true", help="of whatsapp.yaml templates instead")

    p = sub.add_parser("simulate", help="run a scenario on a time-skipping server")
    p.add_argument("scenario", help="scenario id or YAML file")
    p.add_argument("--contact", help="contact as a JSON object or a JSON file")
    p.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="NAME@OFFSET[:JSON]",
        help="the first is the trigger; later ones at offsets like +3h or 1d2h",
    )
    p.add_argument(
        "--start",
        help="when the trigger happens: ISO (2030-01-07T08:00:00Z), +2d from now, or +1d@08:00"
        " (that day, 08:00 UTC); default now",
    )
    p.add_argument(
        "--history",
        help='past [sent, reacted] per channel: {"sms": [6, 5]}; local reaction times for '
        'at: best_time: {"reacted_at": {"email": ["Tue 19:10"]}}',
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    p.add_argument("--templates", type=Path, default=Path("templates"))

    p = sub.add_parser("diagram", help="write a scenario's flow as SVG (the console's diagram)")
    p.add_argument("scenario", help="scenario id or YAML file")
    p.add_argument("-o", "--output", type=Path, help="SVG file to write (default: stdout)")
    p.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    p.add_argument("--templates", type=Path, default=Path("templates"))

    sub.add_parser(
        "dev", help="the whole stack locally: Temporal dev server and UI, worker, API, mail sink"
    )
    sub.add_parser("worker", help="run a worker against OMNI_TEMPORAL_ADDRESS")

    p = sub.add_parser("send-event", help="post a customer event to the API")
    p.add_argument("name")
    p.add_argument("--customer", required=True, help="the shop's customer id")
    p.add_argument("--data", default="{}", help="event data as a JSON object")
    p.add_argument("--event-id", help="idempotency key (default: random)")
    p.add_argument("--contact", help="contact fields to upsert first, as JSON")
    p.add_argument("--api", help="API base URL (default: OMNI_API_URL or the local API)")

    sub.add_parser("api", help="serve the HTTP API (OMNI_API_HOST:OMNI_API_PORT)")
    p = sub.add_parser("db", help="database schema")
    p.add_argument("action", choices=["upgrade"])
    sub.add_parser("vapid-keys", help="generate a VAPID key pair for web push")
    sub.add_parser("doctor", help="check scenarios, Temporal, the database and every channel")
    add_key_parser(sub)
    sub.add_parser("codec-server", help="decode Temporal payloads for the UI and CLI")
    p = sub.add_parser("codec-key", help="generate a payload codec key for OMNI_CODEC_KEYS")
    p.add_argument("id", help="the key's id, e.g. k2026a (kept in every payload's metadata)")
    return parser

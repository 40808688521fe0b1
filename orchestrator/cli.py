"""The omni command: scenarios (validate, simulate, diagram), the dev stack, the worker and API,
and operators' tools. Run 'omni COMMAND --help' for a command's options."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator import cli_admin as admin
from orchestrator.engine.contacts import Contact, ContactInvalid
from orchestrator.language.capacity import cap_warnings
from orchestrator.language.errors import ScenarioInvalid
from orchestrator.language.loader import load_all, load_or_raise
from orchestrator.language.model import FrequencyCap, Scenario
from orchestrator.language.sms_report import sms_report


def main(argv: list[str] | None = None) -> int:
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
    p.add_argument("--start", help="UTC start time (ISO), to try quiet hours; default now")
    p.add_argument("--history", help='past [sent, reacted] per channel: {"sms": [6, 5]}')
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
    admin.add_key_parser(sub)
    sub.add_parser("codec-server", help="decode Temporal payloads for the UI and CLI")
    p = sub.add_parser("codec-key", help="generate a payload codec key for OMNI_CODEC_KEYS")
    p.add_argument("id", help="the key's id, e.g. k2026a (kept in every payload's metadata)")

    args = parser.parse_args(argv)
    try:
        return int(_COMMANDS[_ALIASES.get(args.command, args.command)](args))
    except ScenarioInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    except (ValueError, ContactInvalid) as exc:
        from orchestrator.config.redact import redact

        print(f"omni {args.command}: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _validate(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(
            f"omni validate: no such file or folder: {', '.join(map(str, missing))}",
            file=sys.stderr,
        )
        return 1
    scenarios, problems = load_all(args.paths, args.templates)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    policy = _policy_caps()
    for s in scenarios:
        print(f"ok  {s.id}  version {s.version}  ({s.source})")
        for warning in cap_warnings(s, policy):
            print(f"{s.source}: warning: {warning}", file=sys.stderr)
        for line in sms_report(s):
            print(f"      {line}")
    return 0


def _policy_caps() -> list[FrequencyCap]:
    """The shop-wide caps this machine's configuration sets (OMNI_FREQUENCY_CAPS)."""
    import worker

    return worker.config_from_env().policy.parsed()


def _schema(args: argparse.Namespace) -> int:
    from orchestrator.language.schema import scenario_schema, whatsapp_schema

    print(json.dumps(whatsapp_schema() if args.whatsapp else scenario_schema(), indent=2))
    return 0


def _find_scenario(ref: str, scenarios_dir: Path, templates: Path) -> Scenario:
    if ref.endswith((".yaml", ".yml")):
        found = load_or_raise([Path(ref)], templates)
        return next(iter(found.values()))
    found = load_or_raise([scenarios_dir], templates)
    if ref not in found:
        raise ValueError(f"no scenario {ref!r}; known: {', '.join(sorted(found))}")
    return found[ref]


def _load_json(text: str, what: str) -> Any:
    source = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is neither a JSON file nor JSON: {exc}") from None


def _simulate(args: argparse.Namespace) -> int:
    from orchestrator.dev.simulator import parse_event, parse_history, simulate

    scenario = _find_scenario(args.scenario, args.scenarios, args.templates)
    contact = Contact.from_json(_load_json(args.contact, "--contact")) if args.contact else None
    events = [parse_event(e, scenario) for e in args.event]
    if events and events[0].name != scenario.trigger.event:
        raise ValueError(f"the first --event must be the trigger {scenario.trigger.event!r}")
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00")) if args.start else None
    past = parse_history(args.history) if args.history else None
    result = asyncio.run(simulate(scenario, events, contact=contact, start_at=start, history=past))
    print(result.to_json() if args.json else result.to_text())
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from orchestrator.console.diagram import diagram

    svg = diagram(_find_scenario(args.scenario, args.scenarios, args.templates)) + "\n"
    if args.output is None:
        sys.stdout.write(svg)
    else:
        args.output.write_text(svg, encoding="utf-8")
    return 0


def _dev(args: argparse.Namespace) -> int:
    from orchestrator.dev.devstack import run_dev

    return asyncio.run(run_dev())


def _worker(args: argparse.Namespace) -> int:
    import worker
    from orchestrator.config.redact import configure_logging

    configure_logging()
    asyncio.run(worker.run(worker.config_from_env()))
    return 0


def _send_event(args: argparse.Namespace) -> int:
    import os

    import httpx

    import worker

    config = worker.config_from_env()
    data = _load_json(args.data, "--data")
    if not isinstance(data, dict):
        raise ValueError("--data must be a JSON object")
    body: dict[str, Any] = {
        "name": args.name,
        "customer_id": args.customer,
        "event_id": args.event_id or str(uuid.uuid4()),
        "data": data,
        "occurred_at": datetime.now().astimezone().isoformat(),
    }
    if args.contact:
        body["contact"] = _load_json(args.contact, "--contact")
    base = args.api or os.environ.get("OMNI_API_URL") or f"http://127.0.0.1:{config.listen.port}"
    key = os.environ.get("OMNI_API_KEY") or _dev_key(config.store.data_dir)
    try:
        answer = httpx.post(
            f"{base.rstrip('/')}/v1/events",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
        )
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot reach the API at {base}: {exc}; is 'make run' up?") from None
    print(json.dumps(answer.json(), indent=2))
    return 0 if answer.status_code == 202 else 1


def _dev_key(data_dir: Path) -> str:
    path = data_dir / "dev-api-key"
    if not path.exists():
        raise ValueError("set OMNI_API_KEY (create one with 'omni api-key create NAME')")
    return path.read_text(encoding="utf-8").strip()


def _api(args: argparse.Namespace) -> int:
    import uvloop

    import worker
    from orchestrator.config.redact import configure_logging

    configure_logging()
    # uvloop: the API is CPU-bound on its event loop; libuv's loop costs less per request.
    uvloop.run(worker.run_api(worker.config_from_env()))
    return 0


def _db(args: argparse.Namespace) -> int:
    import worker
    from orchestrator.store.migrate import upgrade

    config = worker.config_from_env()
    upgrade(config.store.url)
    print(f"database at head: {config.store!r}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from orchestrator.dev.doctor import run_doctor

    return asyncio.run(run_doctor())


_ALIASES = {"key": "api-key"}
_COMMANDS = {
    "validate": _validate,
    "schema": _schema,
    "simulate": _simulate,
    "diagram": _diagram,
    "dev": _dev,
    "worker": _worker,
    "send-event": _send_event,
    "api": _api,
    "db": _db,
    "api-key": admin.api_key,
    "vapid-keys": admin.vapid_keys,
    "codec-server": admin.codec_server,
    "codec-key": admin.codec_key,
    "doctor": _doctor,
}


def entry() -> None:
    """Console script: skip interpreter finalisation, where the Temporal SDK core's threads
    can still call into Python and abort the process (seen about once in twelve simulate runs)
    after all output was written."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()

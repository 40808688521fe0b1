"""The omni command: scenarios (validate, simulate, diagram), the dev stack, the worker and API,
and operators' tools. Run 'omni COMMAND --help' for a command's options."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import cli_admin as admin
from orchestrator.cli_args import build_parser
from orchestrator.engine.contacts import Contact, ContactInvalid
from orchestrator.language.capacity import cap_warnings
from orchestrator.language.errors import ScenarioInvalid
from orchestrator.language.loader import load_all, load_or_raise
from orchestrator.language.model import FrequencyCap, Scenario
from orchestrator.language.sms_report import sms_report


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_COMMANDS[args.command](args))
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
    from orchestrator.dev.sim_dates import parse_start
    from orchestrator.dev.simulator import parse_event, parse_history, simulate

    scenario = _find_scenario(args.scenario, args.scenarios, args.templates)
    contact = Contact.from_json(_load_json(args.contact, "--contact")) if args.contact else None
    events = [parse_event(e, scenario) for e in args.event]
    if events and events[0].name != scenario.trigger.event:
        raise ValueError(f"the first --event must be the trigger {scenario.trigger.event!r}")
    start = parse_start(args.start, datetime.now(UTC)) if args.start else None
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

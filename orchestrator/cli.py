"""The omni command: scenarios (validate, simulate, diagram), the dev stack, the worker and API,
and operators' tools. Run 'omni COMMAND --help' for a command's options."""

from __future__ import annotations

# Each command imports what it needs when it runs: `omni send-event` is an HTTP client and
# must not pay for the worker's imports (seconds) to post one event (bench/cli.py).
import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator import cli_admin as admin
from orchestrator.cli_args import build_parser
from orchestrator.language.errors import ScenarioInvalid

if TYPE_CHECKING:
    from orchestrator.language.model import FrequencyCap, Scenario


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_COMMANDS[_ALIASES.get(args.command, args.command)](args))
    except ScenarioInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:  # ContactInvalid too
        from orchestrator.config.redact import redact

        print(f"omni {args.command}: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _validate(args: argparse.Namespace) -> int:
    from orchestrator.language.capacity import cap_warnings
    from orchestrator.language.loader import load_all
    from orchestrator.language.sms_report import sms_report

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
    from orchestrator.config.settings import load_settings

    return load_settings().policy.parsed()


def _schema(args: argparse.Namespace) -> int:
    from orchestrator.language.schema import scenario_schema, whatsapp_schema

    print(json.dumps(whatsapp_schema() if args.whatsapp else scenario_schema(), indent=2))
    return 0


def _find_scenario(ref: str, scenarios_dir: Path, templates: Path) -> Scenario:
    from orchestrator.language.loader import load_or_raise

    if ref.endswith((".yaml", ".yml")):
        found = load_or_raise([Path(ref)], templates)
        return next(iter(found.values()))
    found = load_or_raise([scenarios_dir], templates)
    if ref not in found:
        raise ValueError(f"no scenario {ref!r}; known: {', '.join(sorted(found))}")
    return found[ref]


def _simulate(args: argparse.Namespace) -> int:
    import asyncio

    from orchestrator.cli_send import load_json
    from orchestrator.dev.sim_dates import parse_start
    from orchestrator.dev.simulator import parse_event, parse_histories, simulate
    from orchestrator.engine.contacts import contact_of

    scenario = _find_scenario(args.scenario, args.scenarios, args.templates)
    contact = (
        contact_of(load_json(args.contact, "--contact"), "--contact") if args.contact else None
    )
    events = [parse_event(e, scenario) for e in args.event]
    if events and events[0].name != scenario.trigger.event:
        raise ValueError(f"the first --event must be the trigger {scenario.trigger.event!r}")
    start = parse_start(args.start, datetime.now(UTC)) if args.start else None
    past, times = parse_histories(args.history) if args.history else (None, None)
    result = asyncio.run(
        simulate(scenario, events, contact=contact, start_at=start, history=past, times=times)
    )
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


def _send_event(args: argparse.Namespace) -> int:
    from orchestrator.cli_send import send_event

    return send_event(args)


def _dev(args: argparse.Namespace) -> int:
    import asyncio

    from orchestrator.dev.devstack import run_dev

    return asyncio.run(run_dev())


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from orchestrator.app.processes import run_worker
    from orchestrator.config.redact import configure_logging
    from orchestrator.config.settings import load_settings

    settings = load_settings()  # a wrong variable stops it before anything starts
    configure_logging()
    asyncio.run(run_worker(settings))
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvloop

    from orchestrator.app.processes import run_api
    from orchestrator.config.redact import configure_logging
    from orchestrator.config.settings import load_settings

    settings = load_settings()
    configure_logging()
    # uvloop: the API is CPU-bound on its event loop; libuv's loop costs less per request.
    uvloop.run(run_api(settings))
    return 0


def _db(args: argparse.Namespace) -> int:
    from orchestrator.config.settings import load_settings
    from orchestrator.store.migrate import upgrade

    config = load_settings()
    upgrade(config.store.url)
    print(f"database at head: {config.store!r}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    import asyncio

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

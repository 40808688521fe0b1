"""``omni dev``: the whole stack on one machine with no accounts — Temporal dev server (SQLite,
UI), the customer store, the worker, the API, and local sinks for unconfigured channels."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import signal
import socket
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from orchestrator.api.keys import ALL_SCOPES, ApiKeys
from orchestrator.app.clients import load_scenarios, payload_codec
from orchestrator.app.clients import open_store as open_sql
from orchestrator.app.processes import run_api, run_codec_server, run_worker
from orchestrator.app.providers import build_channels
from orchestrator.config.groups import TrackingSettings
from orchestrator.config.logformat import JsonFormatter
from orchestrator.config.redact import redact, secret_values
from orchestrator.config.settings import Settings, load_settings
from orchestrator.dev.devserver import start_dev_server
from orchestrator.dev.sinks import start_smtp_sink
from orchestrator.engine.codec import data_converter
from orchestrator.language.model import CHANNELS
from orchestrator.store.migrate import upgrade_async
from orchestrator.store.urls import default_url, normalise_url

#: What ``omni dev`` prints as things happen: one line per event routed, message sent,
#: skipped or deferred, reaction (open, click, reply) and scenario change accepted or refused
#: (ids, template names and reason codes; no addresses, no content).
ACTIVITY_LOGGERS = (
    "omni.sends",
    "orchestrator.api.events",
    "orchestrator.api.runs",
    "orchestrator.api.reactions",
    "orchestrator.api.reload",
)


async def dev_api_key(config: Settings) -> str:
    """One key for local use, kept in the data folder and valid in the store ``omni dev``
    uses: after a switch of DATABASE_URL (SQLite to PostgreSQL) a new key is made there."""
    path: Path = config.store.data_dir / "dev-api-key"
    engine, factory = open_sql(config)
    try:
        keys = ApiKeys(factory)
        if path.exists():
            key = path.read_text(encoding="utf-8").strip()
            if await keys.verify(key) is not None:
                return key
        # omni dev only: its key holds every scope (ingest, read, console, admin).
        key = await keys.create("omni dev", scopes=ALL_SCOPES)
    finally:
        await engine.dispose()
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def show_activity(config: Settings) -> None:
    """Print the activity lines on stdout: with the time of day, or as JSON objects
    (``OMNI_LOG_FORMAT=json``)."""
    handler = logging.StreamHandler(sys.stdout)
    if config.observability.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s  %(message)s", datefmt="%H:%M:%S"))
    for name in ACTIVITY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def dev_ports(config: Settings) -> dict[str, tuple[str, int]]:
    """What listens where: name -> (the variable that moves it, port)."""
    d = config.dev
    ports = {
        "Temporal": ("OMNI_DEV_TEMPORAL_PORT", d.temporal_port),
        "Temporal UI": ("OMNI_DEV_UI_PORT", d.ui_port),
        "API": ("OMNI_API_PORT", config.listen.port),
    }
    if wants_sink(config):
        ports["SMTP sink"] = ("OMNI_DEV_SMTP_PORT", d.smtp_sink_port)
    if config.codec.keys:
        ports["codec server"] = ("OMNI_CODEC_PORT", config.codec.port)
    return ports


def sink_overrides(config: Settings) -> dict[str, str]:
    """With no email provider configured, ``omni dev`` sends email to its SMTP sink (unless
    email is record-only)."""
    if not wants_sink(config):
        return {}
    port = str(config.dev.smtp_sink_port)
    return {"OMNI_SMTP_HOST": "127.0.0.1", "OMNI_SMTP_PORT": port, "OMNI_SMTP_SECURITY": "none"}


def wants_sink(config: Settings) -> bool:
    return config.email is None and "email" not in config.recording.record_only


def dev_secret(config: Settings) -> str:
    """The tracking secret for local use, made once and kept in the data folder."""
    path: Path = config.store.data_dir / "tracking-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def busy_ports(ports: dict[str, tuple[str, int]]) -> list[str]:
    busy = []
    for what, (variable, port) in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{what} port {port} is in use (set {variable})")
    return busy


def dev_temporal_db(config: Settings) -> Path:
    """Where ``omni dev`` keeps its runs. Runs and the contacts they send to live together:
    the default store keeps ``temporal.db``, any other store a database of its own (named by
    the store's address, password left out), so switching ``DATABASE_URL`` never leaves runs
    whose contacts are in another store (they would skip every send as unknown_contact) and
    switching back finds the old runs again."""
    data_dir = config.store.data_dir
    if config.store.url == default_url(data_dir):
        return data_dir / "temporal.db"
    address = make_url(normalise_url(config.store.url)).render_as_string(hide_password=True)
    digest = hashlib.sha256(address.replace(":***@", "@").encode()).hexdigest()
    return data_dir / f"temporal-{digest[:12]}.db"


async def open_store(config: Settings) -> str | None:
    """Migrate the store and make the dev key; on failure, one line saying why."""
    try:
        await upgrade_async(config.store.url)
        return await dev_api_key(config)
    except Exception as exc:  # any driver's error: a missing database, a refused login
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            redact(
                f"omni dev: cannot open the customer store {config.store.url}: "
                f"{type(exc).__name__}: {first} (check DATABASE_URL; 'omni doctor' checks it)",
                secret_values(config),
            ),
            file=sys.stderr,
        )
        return None


async def run_dev() -> int:
    config = load_settings()
    load_scenarios(config)  # fail before starting anything if a scenario is broken
    codec = payload_codec(config)
    busy = busy_ports(dev_ports(config))
    if busy:
        print(
            f"omni dev: {'; '.join(busy)}. Is another 'omni dev' (make run) running? "
            "Stop it, or move this one to free ports.",
            file=sys.stderr,
        )
        return 1
    sink_port, temporal_port, ui_port = (
        config.dev.smtp_sink_port,
        config.dev.temporal_port,
        config.dev.ui_port,
    )
    config.store.data_dir.mkdir(parents=True, exist_ok=True)
    sink = None
    if wants_sink(config):  # no provider: a local SMTP server that keeps the mail
        (config.store.data_dir / "mail").mkdir(exist_ok=True)  # where to look, from the start
        sink = start_smtp_sink(config.store.data_dir / "mail", port=sink_port)
        config = load_settings(overrides=sink_overrides(config))
    if config.tracking.secret is None:
        tracking = TrackingSettings(secret=SecretStr(dev_secret(config)))
        config = config.model_copy(update={"tracking": tracking})
    # The console shows every message as sent: keep them (the data is the developer's own).
    console = config.console.model_copy(update={"keep_messages": True})
    config = config.model_copy(update={"console": console})
    key = await open_store(config)
    if key is None:
        if sink is not None:
            sink.stop()
        return 1
    db = dev_temporal_db(config)
    codec_url = f"http://{config.codec.host}:{config.codec.port}" if codec else ""
    env = await start_dev_server(
        db_file=db,
        port=temporal_port,
        ui=True,
        ui_port=ui_port,
        data_converter=data_converter(codec),
        ui_codec_endpoint=codec_url,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with env:
        serving_api = asyncio.Event()
        tasks = [
            # Channels without a provider are recording channels here (labelled `recorded`).
            asyncio.create_task(run_worker(config, env.client, build_channels(config, dev=True))),
            asyncio.create_task(
                run_api(config, env.client, build_channels(config, dev=True), ready=serving_api)
            ),
        ]
        if codec is not None:
            tasks.append(asyncio.create_task(run_codec_server(config)))
        # The addresses are printed once the API listens: a send-event right after them must
        # reach it (on a busy machine half a second was not always enough). A task that ends
        # first has failed: say why and stop.
        listening = asyncio.create_task(serving_api.wait())
        await asyncio.wait([listening, *tasks], return_when=asyncio.FIRST_COMPLETED)
        listening.cancel()
        for task in tasks:
            if task.done():
                task.result()  # e.g. the API port is taken: say so and stop
        api = f"http://{config.listen.host}:{config.listen.port}"
        print(
            f"Temporal dev server  127.0.0.1:{temporal_port}  (runs kept in {db}, "
            "paired with the customer store below)"
        )
        print(f"Temporal UI          http://127.0.0.1:{ui_port}")
        if codec is not None:
            print(
                f"payload codec        on (key {codec.key_id!r}); UI decodes through {codec_url}: "
                f"sign in at {codec_url}/login with the API key"
            )
        print(f"API                  {api}  (docs: {api}/docs)")
        print(f"API key              {key}  (also in {config.store.data_dir / 'dev-api-key'})")
        print(f"console              {api}/console  (log in with the API key)")
        print(f"customer store       {config.store.url}")
        print(
            f"worker               task queue {config.temporal.task_queue!r}, scenarios in "
            f"{config.scenarios.scenarios_dir}/"
        )
        if sink is not None:
            print(
                f"SMTP sink            127.0.0.1:{sink_port}  (mail kept in "
                f"{config.store.data_dir / 'mail'}/*.eml)"
            )
        unsent = [c for c in CHANNELS if not config.has_provider(c)]
        if unsent:
            print(
                f"recorded             {config.store.data_dir / 'recorded'}/<channel>.jsonl: "
                f"{', '.join(unsent)} have no provider: their messages are RECORDED there, never "
                "sent (send log status 'recorded'; outside omni dev a worker refuses such "
                "channels unless OMNI_RECORD_ONLY names them)"
            )
        print(
            "try:  .venv/bin/omni send-event signed_up --customer 42 "
            '--contact \'{"email": "alex@example.com", "consents": {"email": true}}\''
            "  (the welcome email lands in the mail folder within seconds)"
        )
        print("Ctrl-C stops everything. Events and messages appear below.", flush=True)
        show_activity(config)
        await stop.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if sink is not None:
        sink.stop()
    print("stopped")
    return 0

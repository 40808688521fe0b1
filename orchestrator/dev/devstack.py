"""``omni dev``: the whole stack on one machine with no accounts — Temporal dev server (SQLite,
UI), the customer store, the worker, the API, and local sinks for unconfigured channels."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import signal
import socket
import sys
from pathlib import Path

import worker
from orchestrator.api.keys import ApiKeys
from orchestrator.dev.devserver import start_dev_server
from orchestrator.dev.sinks import start_smtp_sink
from orchestrator.engine.codec import data_converter
from orchestrator.store.migrate import upgrade_async

TEMPORAL_PORT = 7233
SMTP_SINK_PORT = 2525
UI_PORT = 8233


async def dev_api_key(config: worker.WorkerConfig) -> str:
    """One key for local use, created on first start and kept in the data folder."""
    path: Path = config.store.data_dir / "dev-api-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    engine, factory = worker.open_store(config)
    try:
        key = await ApiKeys(factory).create("omni dev")
    finally:
        await engine.dispose()
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def dev_secret(config: worker.WorkerConfig) -> str:
    """The tracking secret for local use, made once and kept in the data folder."""
    path: Path = config.store.data_dir / "tracking-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def busy_ports(ports: dict[str, int]) -> list[str]:
    busy = []
    for what, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{what} port {port}")
    return busy


async def run_dev() -> int:
    config = worker.config_from_env()
    worker.load_scenarios(config)  # fail before starting anything if a scenario is broken
    ports = {"Temporal": TEMPORAL_PORT, "Temporal UI": UI_PORT, "API": config.listen.port}
    if config.email is None:
        ports["SMTP sink"] = SMTP_SINK_PORT
    codec = config.codec.codec()
    if codec is not None:
        ports["codec server"] = config.codec.port
    busy = busy_ports(ports)
    if busy:
        print(
            f"omni dev: {', '.join(busy)} already in use. Is another 'omni dev' (make run) "
            "running? Stop it first, or set OMNI_API_PORT for the API.",
            file=sys.stderr,
        )
        return 1
    config.store.data_dir.mkdir(parents=True, exist_ok=True)
    sink = None
    if config.email is None:  # no provider: a local SMTP server that keeps the mail
        sink = start_smtp_sink(config.store.data_dir / "mail", port=SMTP_SINK_PORT)
        to_sink = {"OMNI_SMTP_HOST": "127.0.0.1", "OMNI_SMTP_PORT": str(SMTP_SINK_PORT)}
        to_sink["OMNI_SMTP_SECURITY"] = "none"
        config = worker.config_from_env(overrides=to_sink)
    if not config.tracking.secret:
        tracking = worker.TrackingSettings(secret=dev_secret(config))
        config = dataclasses.replace(config, tracking=tracking)
    # The console shows every message as sent: keep them (the data is the developer's own).
    config = dataclasses.replace(
        config, console=dataclasses.replace(config.console, keep_messages=True)
    )
    await upgrade_async(config.store.url)
    key = await dev_api_key(config)
    db = config.store.data_dir / "temporal.db"
    codec_url = f"http://{config.codec.host}:{config.codec.port}" if codec else ""
    env = await start_dev_server(
        db_file=db,
        port=TEMPORAL_PORT,
        ui=True,
        ui_port=UI_PORT,
        data_converter=data_converter(codec),
        ui_codec_endpoint=codec_url,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with env:
        tasks = [
            asyncio.create_task(worker.run(config, env.client)),
            asyncio.create_task(worker.run_api(config, env.client)),
        ]
        if codec is not None:
            tasks.append(asyncio.create_task(worker.run_codec_server(config)))
        await asyncio.sleep(0.5)
        for task in tasks:
            if task.done():
                task.result()  # e.g. the API port is taken: say so and stop
        api = f"http://{config.listen.host}:{config.listen.port}"
        print(f"Temporal dev server  127.0.0.1:{TEMPORAL_PORT}  (runs kept in {db})")
        print(f"Temporal UI          http://127.0.0.1:{UI_PORT}")
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
                f"SMTP sink            127.0.0.1:{SMTP_SINK_PORT}  (mail kept in "
                f"{config.store.data_dir / 'mail'}/*.eml)"
            )
        print(
            f"outbox               {config.store.data_dir / 'outbox'}/<channel>.jsonl "
            "(push, Telegram, SMS without a provider)"
        )
        print(
            "try:  .venv/bin/omni send-event cart_updated --customer 42 "
            '--contact \'{"email": "alex@example.com", "consents": {"email": true}}\' '
            '--data \'{"cart": {"id": "c-1", "total": 59.9, "currency": "EUR", '
            '"url": "https://shop.example/cart/c-1", "items": []}}\''
        )
        print("Ctrl-C stops everything.", flush=True)
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

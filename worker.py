"""The Omni worker: the only place that reads configuration and builds clients.

Settings are grouped by concern in ``orchestrator.config`` (Temporal, scenarios, store, API,
tracking, one group per channel); this module reads the environment once and hands it over.
The configuration table in docs/operations.md is generated from
``orchestrator.config.variables.SETTINGS``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import typing

from fastapi import FastAPI
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from channels.base import Channel
from channels.email import EmailChannel
from channels.push import PushChannel, push_session
from channels.recording import RecordingChannel
from channels.sms import SmsChannel, twilio_client
from channels.telegram import TelegramChannel, telegram_bot
from channels.unconfigured import UnconfiguredChannel
from channels.whatsapp import WhatsappChannel
from orchestrator.api.app import create_app
from orchestrator.api.codec_server import codec_app
from orchestrator.api.keys import ApiKeys
from orchestrator.api.reload import ScenarioWatcher
from orchestrator.api.serve import serving
from orchestrator.api.services import Services, build_services
from orchestrator.api.telegram_poll import poll_updates
from orchestrator.config.channel_variables import provider_variables
from orchestrator.config.groups import TrackingSettings
from orchestrator.config.redact import configure_logging, protect_logs
from orchestrator.config.variables import config_markdown
from orchestrator.config.worker_config import WorkerConfig
from orchestrator.console.app import build_console, install_console
from orchestrator.engine.activities import Activities
from orchestrator.engine.codec import data_converter, sealed
from orchestrator.engine.definitions import Definitions, remember
from orchestrator.engine.learning import Learning
from orchestrator.engine.messages import RunOptions
from orchestrator.engine.runtime import build_send_worker, build_worker
from orchestrator.engine.tracking import Tracker
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.arms import SqlArms
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.events import EventLog
from orchestrator.store.inbound import InboundMessages
from orchestrator.store.links import SqlShortLinks
from orchestrator.store.preferences import SqlPreferences
from orchestrator.store.reactions import SqlReactionStats
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.sessions import SqlSessions
from orchestrator.store.versions import SqlVersions

log = logging.getLogger("omni.worker")

__all__ = ["TrackingSettings", "WorkerConfig", "config_from_env", "config_markdown"]


def config_from_env(
    env: typing.Mapping[str, str] | None = None, *, overrides: typing.Mapping[str, str] = {}
) -> WorkerConfig:
    """The process's configuration: ``env`` replaces the environment (tests), ``overrides``
    win over it (the dev stack points email at its sink)."""
    return WorkerConfig.from_mapping({**(os.environ if env is None else env), **overrides})


async def connect(config: WorkerConfig) -> Client:
    """A Temporal client; with OMNI_CODEC_KEYS every payload it writes is encrypted."""
    t = config.temporal
    return await Client.connect(
        t.address,
        namespace=t.namespace,
        api_key=t.api_key,
        tls=t.tls(),
        data_converter=data_converter(config.codec.codec()),
        runtime=sdk_runtime(config),
    )


_runtimes: dict[str, Runtime] = {}


def sdk_runtime(config: WorkerConfig) -> Runtime | None:
    """With OMNI_SDK_METRICS_PORT, a Temporal runtime exporting the SDK's own metrics
    (workflow and activity task latencies, schedule-to-start, slots) to Prometheus; one per
    process, as the SDK wants."""
    o = config.observability
    if not o.sdk_metrics_port:
        return None
    address = f"{o.metrics_host}:{o.sdk_metrics_port}"
    if address not in _runtimes:
        metrics = PrometheusConfig(bind_address=address)
        _runtimes[address] = Runtime(telemetry=TelemetryConfig(metrics=metrics))
    return _runtimes[address]


def serve_worker_metrics(config: WorkerConfig) -> typing.Callable[[], None]:
    """With OMNI_WORKER_METRICS_PORT, serve Omni's metrics; returns how to stop serving."""
    o = config.observability
    if not o.worker_metrics_port:
        return lambda: None
    server, _thread = start_http_server(o.worker_metrics_port, addr=o.metrics_host)
    log.info("worker metrics on http://%s:%d/metrics", o.metrics_host, o.worker_metrics_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


def load_scenarios(config: WorkerConfig) -> dict[str, Scenario]:
    """Validated at start: a broken scenario stops the worker with file:line errors. The
    versions loaded are known to this process (their templates need no store lookup)."""
    scenarios = load_or_raise([config.scenarios.scenarios_dir], config.scenarios.templates_dir)
    for scenario in scenarios.values():
        remember(scenario)
    return scenarios


def open_store(config: WorkerConfig) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = make_engine(config.store.url)
    return engine, sessions(engine)


def tracker(config: WorkerConfig) -> Tracker | None:
    t = config.tracking
    if not t.secret:
        return None
    previous = tuple(p.encode() for p in t.previous)
    return Tracker(t.secret.encode(), config.api.public_base_url, previous=previous)


def build_channels(config: WorkerConfig, *, dev: bool = False) -> dict[str, Channel]:
    """Configured providers. A channel without one is a ``RecordingChannel`` (its files in
    ``OMNI_DATA_DIR/outbox/``) when it is record-only (OMNI_RECORD_ONLY) or under
    ``omni dev`` (``dev``); otherwise it is unconfigured, and a worker whose scenarios use it
    refuses to start (see ``run``)."""
    recorded = config.store.data_dir / "outbox"
    channels: dict[str, Channel] = {}
    for name in CHANNELS:
        if dev or name in config.recording.record_only:
            channels[name] = RecordingChannel(name, file=recorded / f"{name}.jsonl")
        else:
            channels[name] = UnconfiguredChannel(name, variables=provider_variables(name))
    if config.email is not None:
        channels["email"] = EmailChannel(config.email)
    if config.push is not None:
        channels["push"] = PushChannel(config.push, push_session(config.push))
    if config.telegram is not None:
        channels["telegram"] = TelegramChannel(config.telegram, telegram_bot(config.telegram))
    if config.sms is not None and config.has_provider("sms"):
        channels["sms"] = SmsChannel(config.sms, twilio_client(config.sms))
    if config.whatsapp is not None:
        channels["whatsapp"] = WhatsappChannel(config.whatsapp, twilio_client(config.whatsapp))
    return channels


def channels_sent_by(config: WorkerConfig, scenarios: dict[str, Scenario]) -> set[str]:
    """The channels this worker process sends by: those its scenarios use, less those whose
    send queue (OMNI_SEND_QUEUES) it does not serve."""
    main, own_queues = config.temporal.served()
    elsewhere = set(config.temporal.queue_rates()) - set(own_queues)
    used = {c for s in scenarios.values() for c in s.channels()}
    return {c for c in used if c in own_queues or (main and c not in elsewhere)}


async def check_channels(
    config: WorkerConfig, scenarios: dict[str, Scenario], channels: dict[str, Channel]
) -> None:
    """Every provider's settings, once; a channel this worker's scenarios send by with no
    provider (and not record-only) stops it, naming the channel and the variables to set."""
    needed = channels_sent_by(config, scenarios)
    missing = [
        c.problem
        for name, c in channels.items()
        if isinstance(c, UnconfiguredChannel) and name in needed
    ]
    if missing:
        raise NoProvider(
            "refusing to start, scenarios send by a channel with no provider: " + "; ".join(missing)
        )
    for channel in channels.values():
        if not isinstance(channel, UnconfiguredChannel):
            await channel.check()  # a misconfigured provider fails here, loudly, once


class NoProvider(ValueError):
    """A worker's scenarios use a channel with neither a provider nor OMNI_RECORD_ONLY."""


def build_activities(
    config: WorkerConfig, factory: async_sessionmaker[AsyncSession], channels: dict[str, Channel]
) -> Activities:
    public = config.api.public_base_url
    callback = f"{public}/webhooks/twilio/status" if config.api.twilio_auth_token else ""
    contacts = SqlContacts(factory, trusted_push_origins=config.api.trusted_push_origins)
    events = EventLog(factory)
    return Activities(
        directory=contacts,
        send_log=SqlSendLog(factory),
        channels=channels,
        default_timezone=config.scenarios.default_timezone,
        tracker=tracker(config),
        short_links=SqlShortLinks(factory),
        status_callback_url=callback,
        policy=config.policy,
        keep_messages=config.console.keep_messages,
        inbound=InboundMessages(factory, contacts),
        definitions=Definitions(SqlVersions(factory)),
        events=events,
        pending=events,
        preferences=SqlPreferences(factory, contacts),
    )


def build_learning(factory: async_sessionmaker[AsyncSession], activities: Activities) -> Learning:
    """Learned orders and costs from the send log; holdout and split arms into the store."""
    return Learning.beside(activities, stats=SqlReactionStats(factory), arms=SqlArms(factory))


async def run(
    config: WorkerConfig, client: Client | None = None, channels: dict[str, Channel] | None = None
) -> None:
    protect_logs(config)
    scenarios = load_scenarios(config)  # a broken scenario stops the worker here (file:line)
    channels = channels if channels is not None else build_channels(config)
    await check_channels(config, scenarios, channels)
    client = sealed(client, config.codec.codec()) if client else await connect(config)
    engine, factory = open_store(config)
    t = config.temporal
    main, own_queues = t.served()
    queues = ([t.task_queue] if main else []) + [t.send_queue(c) for c in own_queues]
    log.info("worker on %s/%s queues %s", t.address, t.namespace, ", ".join(queues))
    stop_metrics = serve_worker_metrics(config)
    try:
        activities = build_activities(config, factory, channels)
        workers = [
            build_send_worker(
                client, task_queue=t.send_queue(c), activities=activities, per_second=rate
            )
            for c, rate in own_queues.items()
        ]
        if main:
            learning = build_learning(factory, activities)
            workers.append(
                build_worker(
                    client, task_queue=t.task_queue, activities=activities, learning=learning
                )
            )
        # One failing worker stops the process (and its siblings) rather than half of it.
        async with asyncio.TaskGroup() as group:
            for w in workers:
                group.create_task(w.run())
    finally:
        stop_metrics()
        await engine.dispose()


def console_secret(config: WorkerConfig) -> bytes:
    """Derived from the tracking secret, so every API process accepts the same sessions;
    without one, a random secret (logins then last as long as the process)."""
    if config.tracking.secret:
        return hmac.new(config.tracking.secret.encode(), b"omni console", "sha256").digest()
    return secrets.token_bytes(32)


def app_with_console(
    config: WorkerConfig,
    svc: Services,
    factory: async_sessionmaker[AsyncSession],
    channels: dict[str, Channel] | None = None,
) -> FastAPI:
    """The HTTP API with the console at /console; test sends use ``channels``."""
    app = create_app(svc)
    console = build_console(
        svc,
        factory,
        secret=console_secret(config),
        settings=config.console,
        channels=channels if channels is not None else build_channels(config),
        scenario_dirs=[config.scenarios.scenarios_dir],
        templates_dir=config.scenarios.templates_dir,
        email_sender=config.email.sender if config.email else "Omni <omni@localhost>",
    )
    install_console(app, console)
    return app


async def run_api(
    config: WorkerConfig, client: Client | None = None, channels: dict[str, Channel] | None = None
) -> None:
    """Serve the HTTP API and the console until cancelled."""
    protect_logs(config)
    scenarios = load_scenarios(config)
    client = sealed(client, config.codec.codec()) if client else await connect(config)
    engine, factory = open_store(config)
    svc = build_services(
        client,
        factory,
        scenarios,
        task_queue=config.temporal.task_queue,
        settings=config.api,
        options=RunOptions(send_queues=config.temporal.send_queue_names()),
        tracker=tracker(config),
    )
    polling = None
    if config.telegram is not None and not config.api.telegram_secret_token:
        # No webhook secret: development mode, updates by long polling.
        polling = asyncio.create_task(poll_updates(telegram_bot(config.telegram), svc))
    sc = config.scenarios
    watcher = ScenarioWatcher(svc.router, [sc.scenarios_dir], sc.templates_dir)
    watching = asyncio.create_task(watcher.run_forever())
    try:
        app = app_with_console(config, svc, factory, channels)
        async with serving(app, host=config.listen.host, port=config.listen.port):
            await asyncio.Event().wait()
    finally:
        watching.cancel()
        if polling is not None:
            polling.cancel()
        await engine.dispose()


async def run_codec_server(config: WorkerConfig) -> None:
    """Serve /decode and /encode for the Temporal UI and CLI until cancelled."""
    protect_logs(config)
    codec = config.codec.codec()
    if codec is None:
        raise ValueError("set OMNI_CODEC_KEYS: without keys there is nothing to decode")
    engine, factory = open_store(config)
    keys = ApiKeys(factory, cache_ttl=config.api.key_cache_seconds)
    app = codec_app(
        codec,
        keys,
        origins=config.codec.cors_origins,
        sessions=SqlSessions(factory),
        secret=console_secret(config),
    )
    c = config.codec
    try:
        async with serving(app, host=c.host, port=c.port) as base:
            log.info("codec server on %s for %s", base, ", ".join(c.cors_origins))
            await asyncio.Event().wait()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    configure_logging()
    try:
        asyncio.run(run(config_from_env()))
    except NoProvider as exc:
        raise SystemExit(f"omni worker: {exc}") from None

"""The processes Omni runs, each assembled from its settings: the worker (workflows and
sends), the HTTP API with the console, and the codec server for the Temporal UI."""

from __future__ import annotations

import asyncio
import logging
import typing

from fastapi import FastAPI
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from channels.base import Channel
from channels.telegram import telegram_bot
from orchestrator.api.app import create_app
from orchestrator.api.codec_server import codec_app
from orchestrator.api.keys import ApiKeys
from orchestrator.api.reload import ScenarioWatcher
from orchestrator.api.serve import serving
from orchestrator.api.services import Services, build_services
from orchestrator.api.telegram_poll import poll_updates
from orchestrator.app.clients import (
    connect,
    console_secret,
    load_scenarios,
    open_store,
    payload_codec,
    tracker,
)
from orchestrator.app.providers import build_channels, check_channels
from orchestrator.config.redact import protect_logs
from orchestrator.config.settings import Settings
from orchestrator.console.app import build_console, install_console
from orchestrator.engine.activities import Activities
from orchestrator.engine.codec import sealed
from orchestrator.engine.definitions import Definitions
from orchestrator.engine.learning import Learning
from orchestrator.engine.messages import RunOptions
from orchestrator.engine.runtime import build_send_worker, build_worker
from orchestrator.engine.timing import SendTiming
from orchestrator.store.arms import SqlArms
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.events import EventLog
from orchestrator.store.inbound import InboundMessages
from orchestrator.store.links import SqlShortLinks
from orchestrator.store.preferences import SqlPreferences
from orchestrator.store.reactions import SqlReactionStats
from orchestrator.store.send_times import SqlSendTimes
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.sessions import SqlSessions
from orchestrator.store.versions import SqlVersions

log = logging.getLogger("omni.worker")


def serve_worker_metrics(config: Settings) -> typing.Callable[[], None]:
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


def build_activities(
    config: Settings, factory: async_sessionmaker[AsyncSession], channels: dict[str, Channel]
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


def build_timing(factory: async_sessionmaker[AsyncSession], activities: Activities) -> SendTiming:
    """Best-time decisions from the send log's reaction times; held sends into the store."""
    times = SqlSendTimes(factory)
    return SendTiming.beside(activities, times=times, decisions=times)


async def run_worker(
    config: Settings, client: Client | None = None, channels: dict[str, Channel] | None = None
) -> None:
    """Poll this process's task queues (OMNI_WORKER_SERVES) until cancelled."""
    protect_logs(config)
    scenarios = load_scenarios(config)  # a broken scenario stops the worker here (file:line)
    channels = channels if channels is not None else build_channels(config)
    await check_channels(config, scenarios, channels)
    codec = payload_codec(config)
    client = sealed(client, codec) if client else await connect(config)
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
            workers.append(
                build_worker(
                    client,
                    task_queue=t.task_queue,
                    activities=activities,
                    learning=build_learning(factory, activities),
                    timing=build_timing(factory, activities),
                )
            )
        # One failing worker stops the process (and its siblings) rather than half of it.
        async with asyncio.TaskGroup() as group:
            for w in workers:
                group.create_task(w.run())
    finally:
        stop_metrics()
        await engine.dispose()


def app_with_console(
    config: Settings,
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
        default_timezone=config.scenarios.default_timezone,
    )
    install_console(app, console)
    return app


async def run_api(
    config: Settings,
    client: Client | None = None,
    channels: dict[str, Channel] | None = None,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the HTTP API and the console until cancelled; ``ready`` is set once it listens."""
    protect_logs(config)
    scenarios = load_scenarios(config)
    client = sealed(client, payload_codec(config)) if client else await connect(config)
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
    if config.telegram is not None and config.api.telegram_secret_token is None:
        # No webhook secret: development mode, updates by long polling.
        polling = asyncio.create_task(poll_updates(telegram_bot(config.telegram), svc))
    sc = config.scenarios
    watcher = ScenarioWatcher(svc.router, [sc.scenarios_dir], sc.templates_dir)
    watching = asyncio.create_task(watcher.run_forever())
    try:
        app = app_with_console(config, svc, factory, channels)
        async with serving(app, host=config.listen.host, port=config.listen.port):
            if ready is not None:
                ready.set()
            await asyncio.Event().wait()
    finally:
        watching.cancel()
        if polling is not None:
            polling.cancel()
        await engine.dispose()


async def run_codec_server(config: Settings) -> None:
    """Serve /decode and /encode for the Temporal UI and CLI until cancelled."""
    protect_logs(config)
    codec = payload_codec(config)
    if codec is None:
        raise ValueError("set OMNI_CODEC_KEYS: without keys there is nothing to decode")
    engine, factory = open_store(config)
    keys = ApiKeys(factory, cache_ttl=config.api.key_cache_seconds)
    c = config.codec
    app = codec_app(
        codec,
        keys,
        origins=c.cors_origins,
        sessions=SqlSessions(factory),
        secret=console_secret(config),
    )
    try:
        async with serving(app, host=c.host, port=c.port) as base:
            log.info("codec server on %s for %s", base, ", ".join(c.cors_origins))
            await asyncio.Event().wait()
    finally:
        await engine.dispose()

"""``omni doctor``: everything the worker and API need, checked once, with a clear verdict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from temporalio.client import Client

from channels.base import Channel
from channels.recording import RecordingChannel
from channels.unconfigured import UnconfiguredChannel
from orchestrator.api.keys import ApiKeys
from orchestrator.app.clients import connect, load_scenarios, open_store
from orchestrator.app.providers import build_channels, channels_sent_by
from orchestrator.config.redact import protect_logs, redact
from orchestrator.config.settings import load_settings
from orchestrator.dev.devstack import wants_sink
from orchestrator.engine.runtime import queue_pollers
from orchestrator.language.errors import ScenarioInvalid


async def _check(name: str, probe: Callable[[], Awaitable[str]]) -> bool:
    # A library's error may quote a credential (a URL with a password, a rejected token):
    # everything printed goes through redact().
    try:
        detail = await probe()
    except ScenarioInvalid as exc:
        print(redact(f"FAIL  {name}\n{exc}"))
        return False
    except Exception as exc:  # the point is to report any failure, of any kind
        print(redact(f"FAIL  {name}: {exc.__class__.__name__}: {exc}"))
        return False
    print(redact(f"ok    {name}: {detail}"))
    return True


async def run_doctor() -> int:
    config = load_settings()
    protect_logs(config)

    async def scenarios() -> str:
        return f"{len(load_scenarios(config))} valid"

    connected: list[Client] = []

    async def client() -> Client:  # one connection for every Temporal check
        if not connected:
            connected.append(await connect(config))
        return connected[0]

    async def temporal() -> str:
        await (await client()).count_workflows()
        return f"{config.temporal.address} namespace {config.temporal.namespace}"

    async def database() -> str:
        engine, factory = open_store(config)
        try:
            async with engine.connect() as conn:
                version = await conn.execute(text("SELECT version_num FROM alembic_version"))
                found = f"schema {version.scalar_one()}"
            unscoped = await ApiKeys(factory).unscoped()
            if unscoped:
                found += (
                    f"\nwarn  API keys made before scopes hold every scope (ingest, read, "
                    f"console, admin): {', '.join(unscoped)}; replace each with "
                    f"'omni api-key create NAME --scope ...' and revoke it"
                )
            return found
        finally:
            await engine.dispose()

    results = [
        await _check("scenarios", scenarios),
        await _check("temporal", temporal),
        await _check("database", database),
    ]
    t = config.temporal
    for sender, rate in t.queue_rates().items():
        queue = t.send_queue(sender)
        limit = f"{rate:g}/s fleet-wide" if rate else "no rate limit"

        async def polled(queue: str = queue, sender: str = sender, limit: str = limit) -> str:
            pollers = await queue_pollers(await client(), queue, sends=True)
            if not pollers:
                return (
                    f"{limit}; no worker polls it yet: its sends wait until a worker with "
                    f"OMNI_WORKER_SERVES={sender} (or without OMNI_WORKER_SERVES) runs"
                )
            return f"{limit}; polled by {pollers} worker(s)"

        results.append(await _check(f"send queue {queue}", polled))
    try:
        used = channels_sent_by(config, load_scenarios(config))
    except ScenarioInvalid:
        used = set()  # reported above
    for name, channel in build_channels(config).items():
        if isinstance(channel, UnconfiguredChannel):
            if name in used:  # the worker refuses to start
                print(f"FAIL  channel {name} (omni worker): a scenario uses it; {channel.problem}")
                results.append(False)
                continue
            print(f"off   channel {name} (omni worker): no provider, and no scenario uses it")
            continue

        async def probe(c: Channel = channel) -> str:
            await c.check()
            if isinstance(c, RecordingChannel):
                return (
                    f"RECORD-ONLY (OMNI_RECORD_ONLY): messages kept in {c.file}, never "
                    "delivered (send log status 'recorded')"
                )
            return type(c).__name__

        results.append(await _check(f"channel {name} (omni worker)", probe))
        await channel.close()
    if wants_sink(config):
        # `omni dev` sends email to its own SMTP sink, which runs only while it does.
        print(
            f"ok    channel email (omni dev): EmailChannel to the SMTP sink on "
            f"127.0.0.1:{config.dev.smtp_sink_port}, mail kept in {config.store.data_dir}/mail/"
        )
    return 0 if all(results) else 1

"""What every Omni process opens from its settings: the Temporal client, the store, the
scenarios, and the keys derived from configured secrets."""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from orchestrator.config.groups import TemporalSettings
from orchestrator.config.settings import Settings
from orchestrator.engine.codec import EncryptionCodec, data_converter
from orchestrator.engine.definitions import remember
from orchestrator.engine.tracking import Tracker
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import Scenario
from orchestrator.store.db import make_engine, sessions


def payload_codec(config: Settings) -> EncryptionCodec | None:
    """The payload codec, or None when OMNI_CODEC_KEYS is unset."""
    keys = config.codec.parsed_keys()
    return EncryptionCodec(keys) if keys else None


def tls_config(t: TemporalSettings) -> TLSConfig | bool:
    """mTLS with OMNI_TEMPORAL_TLS_CERT/KEY, a private CA with OMNI_TEMPORAL_TLS_CA, plain TLS
    with a Temporal Cloud API key, else none."""
    ca = t.tls_ca.read_bytes() if t.tls_ca else None
    if t.tls_cert and t.tls_key:
        return TLSConfig(
            client_cert=t.tls_cert.read_bytes(),
            client_private_key=t.tls_key.read_bytes(),
            server_root_ca_cert=ca,
        )
    if ca:
        return TLSConfig(server_root_ca_cert=ca)
    return t.api_key is not None


async def connect(config: Settings) -> Client:
    """A Temporal client; with OMNI_CODEC_KEYS every payload it writes is encrypted."""
    t = config.temporal
    return await Client.connect(
        t.address,
        namespace=t.namespace,
        api_key=t.api_key.get_secret_value() if t.api_key else None,
        tls=tls_config(t),
        data_converter=data_converter(payload_codec(config)),
        runtime=sdk_runtime(config),
    )


_runtimes: dict[str, Runtime] = {}


def sdk_runtime(config: Settings) -> Runtime | None:
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


def load_scenarios(config: Settings) -> dict[str, Scenario]:
    """Validated at start: a broken scenario stops the worker with file:line errors. The
    versions loaded are known to this process (their templates need no store lookup)."""
    scenarios = load_or_raise([config.scenarios.scenarios_dir], config.scenarios.templates_dir)
    for scenario in scenarios.values():
        remember(scenario)
    return scenarios


def open_store(config: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = make_engine(config.store.url)
    return engine, sessions(engine)


def tracker(config: Settings) -> Tracker | None:
    t = config.tracking
    if t.secret is None:
        return None
    previous = tuple(p.get_secret_value().encode() for p in t.previous)
    secret = t.secret.get_secret_value().encode()
    return Tracker(secret, config.api.public_base_url, previous=previous)


def console_secret(config: Settings) -> bytes:
    """Derived from the tracking secret, so every API process accepts the same sessions;
    without one, a random secret (logins then last as long as the process)."""
    if config.tracking.secret is not None:
        secret = config.tracking.secret.get_secret_value().encode()
        return hmac.new(secret, b"omni console", "sha256").digest()
    return secrets.token_bytes(32)

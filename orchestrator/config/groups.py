"""Settings groups Omni defines itself (the channels and the API define their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from temporalio.service import TLSConfig

from orchestrator.engine.codec import EncryptionCodec, parse_keys
from orchestrator.language.model import CHANNELS
from orchestrator.store.db import default_url


@dataclass(frozen=True)
class TemporalSettings:
    #: host:port of the Temporal frontend (a self-hosted cluster or Temporal Cloud).
    address: str = "localhost:7233"
    namespace: str = "default"
    #: Task queue shared by the workers and the event router.
    task_queue: str = "omni"
    #: Temporal Cloud API key; implies TLS.
    api_key: str | None = field(default=None, repr=False)
    #: mTLS client certificate and key, CA bundle for the server certificate (PEM files).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    #: Channels whose sends run on a task queue of their own, ``<task_queue>-<channel>``, each
    #: with an optional rate the server enforces for the whole fleet: ``sms:1,telegram:30``.
    send_queues: tuple[str, ...] = ()
    #: What this worker process polls: ``workflows`` and/or channels of ``send_queues``;
    #: empty: everything.
    serves: tuple[str, ...] = ()

    def queue_rates(self) -> dict[str, float | None]:
        """Channel -> sends per second across the fleet (None: no server-side limit)."""
        rates: dict[str, float | None] = {}
        for item in self.send_queues:
            channel, _, rate = (x.strip() for x in item.partition(":"))
            if channel not in CHANNELS:
                raise ValueError(
                    f"OMNI_SEND_QUEUES: unknown channel {channel!r}; "
                    f"channels are {', '.join(CHANNELS)} (e.g. 'sms:1,telegram:30')"
                )
            if channel in rates:
                raise ValueError(f"OMNI_SEND_QUEUES: {channel!r} is named twice")
            try:
                per_second = float(rate) if rate else None
            except ValueError:
                per_second = -1.0
            if per_second is not None and not 0 < per_second < float("inf"):
                raise ValueError(
                    f"OMNI_SEND_QUEUES: {item!r}: the rate after ':' is sends per second, "
                    "a positive number (e.g. 'sms:1' or 'email:0.5')"
                )
            rates[channel] = per_second
        return rates

    def send_queue(self, channel: str) -> str:
        """The task queue of a channel named in ``send_queues``."""
        return f"{self.task_queue}-{channel}"

    def send_queue_names(self) -> dict[str, str]:
        """Channel -> its task queue (what runs are started with)."""
        return {channel: self.send_queue(channel) for channel in self.queue_rates()}

    def served(self) -> tuple[bool, dict[str, float | None]]:
        """Whether this process polls the main queue (workflows and the other sends), and
        the channel queues it polls with their rates."""
        rates = self.queue_rates()
        if not self.serves:
            return True, rates
        wrong = [x for x in self.serves if x != "workflows" and x not in rates]
        if wrong:
            raise ValueError(
                f"OMNI_WORKER_SERVES: {', '.join(map(repr, wrong))} is neither 'workflows' nor "
                f"a channel of OMNI_SEND_QUEUES ({', '.join(rates) or 'none'})"
            )
        return "workflows" in self.serves, {c: r for c, r in rates.items() if c in self.serves}

    def tls(self) -> TLSConfig | bool:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both OMNI_TEMPORAL_TLS_CERT and OMNI_TEMPORAL_TLS_KEY for mTLS")
        ca = self.tls_ca.read_bytes() if self.tls_ca else None
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=self.tls_cert.read_bytes(),
                client_private_key=self.tls_key.read_bytes(),
                server_root_ca_cert=ca,
            )
        if ca:
            return TLSConfig(server_root_ca_cert=ca)
        return self.api_key is not None


@dataclass(frozen=True)
class ScenarioSettings:
    scenarios_dir: Path = Path("scenarios")
    templates_dir: Path = Path("templates")
    #: Time zone for customers whose profile has none.
    default_timezone: str = "UTC"


@dataclass(frozen=True)
class StoreSettings:
    #: SQLAlchemy URL; empty: SQLite under data_dir. May hold a password: never printed.
    database_url: str = field(default="", repr=False)
    #: Development data: SQLite store, Temporal dev database, outbox, mail sink.
    data_dir: Path = Path(".data")

    @property
    def url(self) -> str:
        return self.database_url or default_url(self.data_dir)

    def __repr__(self) -> str:
        shown = make_url(self.url).render_as_string(hide_password=True)
        return f"StoreSettings(url={shown!r}, data_dir={self.data_dir!r})"


@dataclass(frozen=True)
class ListenSettings:
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True)
class TrackingSettings:
    #: HMAC secret for tracking links (>= 32 bytes); older secrets still verify.
    secret: str = field(default="", repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class CodecSettings:
    #: ``id:base64key`` entries; the first encrypts payloads, every one decrypts. Empty: off.
    keys: tuple[str, ...] = field(default=(), repr=False)
    #: Where ``omni codec-server`` listens, and the Temporal UI origins it answers (CORS).
    host: str = "127.0.0.1"
    port: int = 8081
    cors_origins: tuple[str, ...] = ("http://localhost:8233", "http://127.0.0.1:8233")

    def codec(self) -> EncryptionCodec | None:
        """The payload codec, or None when no key is configured."""
        return EncryptionCodec(parse_keys(self.keys)) if self.keys else None


@dataclass(frozen=True)
class ObservabilitySettings:
    #: Where the worker's metrics servers listen.
    metrics_host: str = "127.0.0.1"
    #: Port of the worker's Prometheus endpoint (Omni's metrics); 0: none.
    worker_metrics_port: int = 0
    #: Port of the Temporal SDK's own Prometheus endpoint (its runtime telemetry); 0: none.
    sdk_metrics_port: int = 0
    #: ``text`` or ``json`` (one JSON object a line, with run id, step and key when known).
    log_format: str = "text"


@dataclass(frozen=True)
class RecordingSettings:
    """Channels with no provider on purpose (a staging stack, a channel not bought yet)."""

    #: Channels whose messages are only recorded, in ``OMNI_DATA_DIR/outbox/<channel>.jsonl``
    #: and in the send log as ``recorded``: never delivered, never counted as sent. Any other
    #: channel without a provider stops a worker whose scenarios use it (``omni dev`` records
    #: every such channel).
    record_only: tuple[str, ...] = ()

    def check(self) -> None:
        unknown = [c for c in self.record_only if c not in CHANNELS]
        if unknown:
            raise ValueError(
                f"OMNI_RECORD_ONLY: unknown channel {', '.join(map(repr, unknown))}; "
                f"channels are {', '.join(CHANNELS)} (e.g. 'sms,push')"
            )


@dataclass(frozen=True)
class DevSettings:
    """Ports of ``omni dev``'s own servers (the API and codec ports have their own variables)."""

    temporal_port: int = 7233
    ui_port: int = 8233
    smtp_sink_port: int = 2525

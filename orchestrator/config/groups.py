"""Settings groups Omni defines itself (the channels and the API define their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from temporalio.service import TLSConfig

from orchestrator.engine.codec import EncryptionCodec, parse_keys
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
class DevSettings:
    """Ports of ``omni dev``'s own servers (the API and codec ports have their own variables)."""

    temporal_port: int = 7233
    ui_port: int = 8233
    smtp_sink_port: int = 2525

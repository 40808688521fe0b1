"""Settings groups Omni defines itself (the channels, the API and the console define their own,
the engine its frequency policy).

Each is a frozen pydantic model that refuses a wrong value where it is declared: a port that
is not a number, an unknown channel, a time zone that does not exist, a file that is not
there. Nothing here imports Temporal, SQLAlchemy or FastAPI: building the clients from these
settings is the composition root's work (``orchestrator.app``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)

from channels.settings import Port, WebUrl, WebUrls
from orchestrator.engine.codec_keys import CodecKey, CodecKeyError, parse_keys
from orchestrator.language.model import CHANNELS
from orchestrator.store.urls import default_url


class SettingsGroup(BaseModel):
    """Frozen, no unknown fields (a misspelt keyword is an error, not a silent default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("write it as host:port, e.g. localhost:7233")
    return value


def _queue_rates(items: tuple[str, ...]) -> dict[str, float | None]:
    rates: dict[str, float | None] = {}
    for item in items:
        channel, _, rate = (x.strip() for x in item.partition(":"))
        if channel not in CHANNELS:
            raise ValueError(
                f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)} "
                "(e.g. 'sms:1,telegram:30')"
            )
        if channel in rates:
            raise ValueError(f"{channel!r} is named twice")
        try:
            per_second = float(rate) if rate else None
        except ValueError:
            per_second = -1.0
        if per_second is not None and not 0 < per_second < float("inf"):
            raise ValueError(
                f"{item!r}: the rate after ':' is sends per second, a positive number "
                "(e.g. 'sms:1' or 'email:0.5')"
            )
        rates[channel] = per_second
    return rates


class TemporalSettings(SettingsGroup):
    #: host:port of the Temporal frontend (a self-hosted cluster or Temporal Cloud).
    address: Annotated[str, AfterValidator(_host_port)] = "localhost:7233"
    namespace: Annotated[str, Field(min_length=1)] = "default"
    #: Task queue shared by the workers and the event router.
    task_queue: Annotated[str, Field(min_length=1)] = "omni"
    #: Temporal Cloud API key; implies TLS.
    api_key: SecretStr | None = None
    #: mTLS client certificate and key, CA bundle for the server certificate (PEM files).
    tls_cert: FilePath | None = None
    tls_key: FilePath | None = None
    tls_ca: FilePath | None = None
    #: Channels whose sends run on a task queue of their own, ``<task_queue>-<channel>``, each
    #: with an optional rate the server enforces for the whole fleet: ``sms:1,telegram:30``.
    send_queues: tuple[str, ...] = ()
    #: What this worker process polls: ``workflows`` and/or channels of ``send_queues``;
    #: empty: everything.
    serves: tuple[str, ...] = ()

    @field_validator("send_queues")
    @classmethod
    def _readable_queues(cls, items: tuple[str, ...]) -> tuple[str, ...]:
        _queue_rates(items)
        return items

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both OMNI_TEMPORAL_TLS_CERT and OMNI_TEMPORAL_TLS_KEY for mTLS")
        self.served()
        return self

    def queue_rates(self) -> dict[str, float | None]:
        """Channel -> sends per second across the fleet (None: no server-side limit)."""
        return _queue_rates(self.send_queues)

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


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a time zone; use an IANA name such as Europe/Berlin") from None
    return name


class ScenarioSettings(SettingsGroup):
    scenarios_dir: Path = Path("scenarios")
    templates_dir: Path = Path("templates")
    #: Time zone for customers whose profile has none.
    default_timezone: Annotated[str, AfterValidator(_time_zone)] = "UTC"


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _database_url(value: SecretStr) -> SecretStr:
    if not _SCHEME.match(value.get_secret_value()):
        raise ValueError(
            "not a database URL; write it like postgresql+asyncpg://user:password@host:5432/omni"
        )
    return value


def hide_password(url: str) -> str:
    """``url`` with the password in it replaced by ``***`` (SQLAlchemy shows it the same)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class StoreSettings(SettingsGroup):
    #: SQLAlchemy URL; unset: SQLite under data_dir. May hold a password: never printed.
    database_url: Annotated[SecretStr, AfterValidator(_database_url)] | None = None
    #: Development data: SQLite store, Temporal dev database, recorded messages, mail sink.
    data_dir: Path = Path(".data")

    @property
    def url(self) -> str:
        if self.database_url is None:
            return default_url(self.data_dir)
        return self.database_url.get_secret_value()

    def __repr__(self) -> str:
        return f"StoreSettings(url={hide_password(self.url)!r}, data_dir={self.data_dir!r})"


class ListenSettings(SettingsGroup):
    host: str = "127.0.0.1"
    port: Port = 8000


class TrackingSettings(SettingsGroup):
    #: HMAC secret for tracking links (>= 32 bytes); older secrets still verify.
    secret: SecretStr | None = None
    previous: tuple[SecretStr, ...] = ()


class CodecSettings(SettingsGroup):
    #: ``id:base64key`` entries; the first encrypts payloads, every one decrypts. Empty: off.
    keys: tuple[SecretStr, ...] = ()
    #: Where ``omni codec-server`` listens, and the Temporal UI origins it answers (CORS).
    host: str = "127.0.0.1"
    port: Port = 8081
    cors_origins: WebUrls = ("http://localhost:8233", "http://127.0.0.1:8233")

    @field_validator("keys")
    @classmethod
    def _usable(cls, keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        try:
            parse_keys(k.get_secret_value() for k in keys)
        except CodecKeyError as exc:  # its message never quotes key material
            raise ValueError(str(exc)) from None
        return keys

    def parsed_keys(self) -> list[CodecKey]:
        """The keys, the encrypting one first; empty when the codec is off."""
        return parse_keys(k.get_secret_value() for k in self.keys)


class ObservabilitySettings(SettingsGroup):
    #: Where the worker's metrics servers listen.
    metrics_host: str = "127.0.0.1"
    #: Port of the worker's Prometheus endpoint (Omni's metrics); 0: none.
    worker_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    #: Port of the Temporal SDK's own Prometheus endpoint (its runtime telemetry); 0: none.
    sdk_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    #: ``text`` or ``json`` (one JSON object a line, with run id, step and key when known).
    log_format: Literal["text", "json"] = "text"


class RecordingSettings(SettingsGroup):
    """Channels with no provider on purpose (a staging stack, a channel not bought yet)."""

    #: Channels whose messages are only recorded, in ``OMNI_DATA_DIR/recorded/<channel>.jsonl``
    #: and in the send log as ``recorded``: never delivered, never counted as sent. Any other
    #: channel without a provider stops a worker whose scenarios use it (``omni dev`` records
    #: every such channel).
    record_only: tuple[str, ...] = ()

    @field_validator("record_only")
    @classmethod
    def _known(cls, record_only: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in record_only if c not in CHANNELS]
        if unknown:
            raise ValueError(
                f"unknown channel {', '.join(map(repr, unknown))}; "
                f"channels are {', '.join(CHANNELS)} (e.g. 'sms,push')"
            )
        return record_only


class DevSettings(SettingsGroup):
    """Ports of ``omni dev``'s own servers (the API and codec ports have their own variables)."""

    temporal_port: Port = 7233
    ui_port: Port = 8233
    smtp_sink_port: Port = 2525


class DkimFiles(SettingsGroup):
    """DKIM signing as configured: the key is a file, read into the email settings at start."""

    selector: Annotated[str, Field(min_length=1)]
    domain: Annotated[str, Field(min_length=1)]
    key_file: FilePath


class ClientSettings(SettingsGroup):
    """``omni send-event``'s own: where the API is and the key to call it with."""

    api_url: WebUrl | None = None
    api_key: SecretStr | None = None

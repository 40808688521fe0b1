"""Every environment variable: the settings field it sets, grouped as the configuration
table in docs/operations.md shows them, and that table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from channels.settings import (
    EmailSettings,
    PushSettings,
    SmsSettings,
    TelegramSettings,
    WhatsappSettings,
)
from orchestrator.api.settings import ApiSettings
from orchestrator.config.groups import (
    ClientSettings,
    CodecSettings,
    DevSettings,
    DkimFiles,
    ListenSettings,
    ObservabilitySettings,
    RecordingSettings,
    ScenarioSettings,
    StoreSettings,
    TemporalSettings,
    TrackingSettings,
)
from orchestrator.console.settings import ConsoleSettings
from orchestrator.engine.policies import FrequencyPolicy

__all__ = ["SETTINGS", "Group", "Var", "config_markdown", "provider_variables"]


@dataclass(frozen=True)
class Var:
    """One environment variable bound to a field of one settings group."""

    env: str
    field: str
    doc: str
    default: str = ""  # shown in docs/operations.md instead of the field's default
    #: Other fields (``group.field``) the same value sets: one variable, one row in the table,
    #: however many groups need it (the Twilio account serves SMS, WhatsApp and the API).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    name: str
    cls: type[BaseModel]
    doc: str
    vars: tuple[Var, ...]
    #: The variable that switches an optional group (a channel's provider) on, or several:
    #: any one of them does. Unset: the group is always there, with its defaults.
    enabled_by: str | tuple[str, ...] = ""

    @property
    def switches(self) -> tuple[str, ...]:
        if not self.enabled_by:
            return ()
        return (self.enabled_by,) if isinstance(self.enabled_by, str) else self.enabled_by


SETTINGS: tuple[Group, ...] = (
    Group(
        "temporal",
        TemporalSettings,
        "Temporal connection",
        (
            Var(
                "OMNI_TEMPORAL_ADDRESS",
                "address",
                "Temporal frontend `host:port` (self-hosted or Temporal Cloud)",
            ),
            Var("OMNI_TEMPORAL_NAMESPACE", "namespace", "namespace"),
            Var("OMNI_TASK_QUEUE", "task_queue", "task queue of the workers and the router"),
            Var(
                "OMNI_SEND_QUEUES",
                "send_queues",
                "channels whose sends get a task queue of their own (`<task queue>-<channel>`), "
                "each with an optional fleet-wide rate the server enforces: `sms:1,telegram:30` "
                "(set it the same on the API and the workers; see docs/scaling.md)",
                "none: every send on `OMNI_TASK_QUEUE`",
            ),
            Var(
                "OMNI_WORKER_SERVES",
                "serves",
                "what a worker process polls: `workflows` and/or channels of `OMNI_SEND_QUEUES` "
                "(e.g. `sms` for an SMS-only sender)",
                "everything",
            ),
            Var("OMNI_TEMPORAL_API_KEY", "api_key", "Temporal Cloud API key (implies TLS)"),
            Var("OMNI_TEMPORAL_TLS_CERT", "tls_cert", "mTLS client certificate (PEM file)"),
            Var("OMNI_TEMPORAL_TLS_KEY", "tls_key", "mTLS client key (PEM file)"),
            Var("OMNI_TEMPORAL_TLS_CA", "tls_ca", "CA bundle for the server certificate"),
        ),
    ),
    Group(
        "scenarios",
        ScenarioSettings,
        "Scenarios",
        (
            Var("OMNI_SCENARIOS_DIR", "scenarios_dir", "where scenario YAML lives"),
            Var("OMNI_TEMPLATES_DIR", "templates_dir", "where templates live"),
            Var(
                "OMNI_DEFAULT_TIMEZONE",
                "default_timezone",
                "time zone for customers whose profile has none",
            ),
        ),
    ),
    Group(
        "store",
        StoreSettings,
        "Store",
        (
            Var(
                "DATABASE_URL",
                "database_url",
                "the customer store (`postgresql+asyncpg://…` for PostgreSQL)",
                "SQLite in `OMNI_DATA_DIR`",
            ),
            Var(
                "OMNI_DATA_DIR",
                "data_dir",
                "development data (store, Temporal dev database, recorded messages, mail)",
            ),
        ),
    ),
    Group(
        "listen",
        ListenSettings,
        "Where `omni api` listens",
        (
            Var("OMNI_API_HOST", "host", "listen address"),
            Var("OMNI_API_PORT", "port", "listen port"),
        ),
    ),
    Group(
        "api",
        ApiSettings,
        "HTTP API",
        (
            Var(
                "OMNI_PUBLIC_URL",
                "public_base_url",
                "the API's public https URL: tracking links, unsubscribe, webhook signatures",
            ),
            Var("OMNI_STRICT_EVENTS", "strict_events", "reject unknown event names with 422"),
            Var("OMNI_MAX_BODY_BYTES", "max_body_bytes", "largest accepted request body"),
            Var(
                "OMNI_EVENT_LEASE_SECONDS",
                "event_lease_seconds",
                "how long a request has to deliver a stored event before a relay takes over"
                " (a request that finds Temporal unreachable hands it over at once)",
            ),
            Var(
                "OMNI_POSTAL_ADDRESS",
                "postal_address",
                "postal address on the unsubscribe page and in marketing email (CAN-SPAM)",
                also=("email.postal_address",),
            ),
            Var(
                "OMNI_TELEGRAM_SECRET_TOKEN",
                "telegram_secret_token",
                "Telegram webhook secret; unset with a bot token: long polling",
            ),
            Var(
                "OMNI_TELEGRAM_BOT_USERNAME",
                "telegram_bot_username",
                "the bot's username, for t.me deep links",
            ),
            Var(
                "OMNI_API_KEY_CACHE_SECONDS",
                "key_cache_seconds",
                "how long a process trusts an API key check: a revoked key stops working "
                "everywhere within it",
            ),
            Var(
                "OMNI_API_STORE_DEADLINE_SECONDS",
                "store_deadline_seconds",
                "how long a request waits on a busy or unreachable store before answering 503 "
                "with Retry-After (the worker keeps SQLite's and PostgreSQL's long waits)",
            ),
            Var(
                "OMNI_AUTH_FAILURE_BURST",
                "auth_failure_burst",
                "failed authentications a client (IP, IPv6 /64) may make before 429s",
            ),
            Var(
                "OMNI_AUTH_FAILURES_PER_MINUTE",
                "auth_failures_per_minute",
                "failed authentications a client regains a minute",
            ),
        ),
    ),
    Group(
        "tracking",
        TrackingSettings,
        "Tracking",
        (
            Var(
                "OMNI_TRACKING_SECRET",
                "secret",
                "HMAC secret for tracking tokens (32+ bytes)",
                "generated by `omni dev`",
            ),
            Var(
                "OMNI_TRACKING_PREVIOUS",
                "previous",
                "comma-separated older secrets that still verify",
            ),
        ),
    ),
    Group(
        "policy",
        FrequencyPolicy,
        "Shop-wide frequency policy (every marketing scenario, per customer)",
        (
            Var(
                "OMNI_FREQUENCY_CAPS",
                "caps",
                "comma-separated caps (`4 per 1d, 1 sms per 2d`); a scenario's own cap adds",
                "`4 per 1d`",
            ),
            Var(
                "OMNI_CAP_TRANSACTIONAL",
                "transactional",
                "hold transactional messages to the caps too (exempt by default)",
            ),
        ),
    ),
    Group(
        "console",
        ConsoleSettings,
        "Console (`/console`)",
        (
            Var(
                "OMNI_CONSOLE_PASSWORD",
                "password",
                "console password; unset: log in with an API key only",
            ),
            Var(
                "OMNI_KEEP_MESSAGES",
                "keep_messages",
                "keep each rendered message in the send log for the console (PII, erased "
                "with the contact; `omni dev` turns it on)",
            ),
            Var("OMNI_TEMPORAL_UI_URL", "temporal_ui_url", "Temporal UI, for links to runs"),
            Var(
                "OMNI_TEST_RECIPIENTS",
                "test_recipients",
                "the only recipients of the console's test sends (comma-separated emails, "
                "E.164 phone numbers, Telegram chat ids); unset: no test sends",
                "none",
            ),
            Var(
                "OMNI_TEST_SENDS_PER_HOUR",
                "test_sends_per_hour",
                "test sends one console user (the password, or one API key) may make an hour; "
                "more get 429",
            ),
            Var(
                "OMNI_CONSOLE_IDLE_MINUTES",
                "idle_minutes",
                "minutes of inactivity that end a console login (12 hours end it anyway)",
            ),
        ),
    ),
    Group(
        "codec",
        CodecSettings,
        "Payload encryption (Temporal payload codec) and `omni codec-server`",
        (
            Var(
                "OMNI_CODEC_KEYS",
                "keys",
                "`id:base64key,…` (`omni codec-key ID`): the first encrypts every Temporal "
                "payload, all decrypt; unset: payloads in plain",
            ),
            Var("OMNI_CODEC_HOST", "host", "where `omni codec-server` listens"),
            Var("OMNI_CODEC_PORT", "port", "its port"),
            Var(
                "OMNI_CODEC_CORS_ORIGINS",
                "cors_origins",
                "Temporal UI origins allowed to call it (comma-separated)",
                "`http://localhost:8233,http://127.0.0.1:8233`",
            ),
        ),
    ),
    Group(
        "observability",
        ObservabilitySettings,
        "Metrics and logs",
        (
            Var("OMNI_METRICS_HOST", "metrics_host", "where the worker's metrics ports listen"),
            Var(
                "OMNI_WORKER_METRICS_PORT",
                "worker_metrics_port",
                "the worker's Prometheus port (`/metrics`); the API serves `/metrics` itself",
                "off",
            ),
            Var(
                "OMNI_SDK_METRICS_PORT",
                "sdk_metrics_port",
                "the Temporal SDK's own Prometheus port (workflow/activity task metrics)",
                "off",
            ),
            Var("OMNI_LOG_FORMAT", "log_format", "`text` or `json`"),
        ),
    ),
    Group(
        "dev",
        DevSettings,
        "`omni dev`'s ports (the API: `OMNI_API_PORT`; the codec server: `OMNI_CODEC_PORT`)",
        (
            Var("OMNI_DEV_TEMPORAL_PORT", "temporal_port", "the Temporal dev server's gRPC port"),
            Var("OMNI_DEV_UI_PORT", "ui_port", "the Temporal UI"),
            Var("OMNI_DEV_SMTP_PORT", "smtp_sink_port", "the SMTP sink that keeps mail as .eml"),
        ),
    ),
    Group(
        "recording",
        RecordingSettings,
        "Channels without a provider",
        (
            Var(
                "OMNI_RECORD_ONLY",
                "record_only",
                "channels whose messages are only recorded (`OMNI_DATA_DIR/recorded/`, send log "
                "status `recorded`), never delivered, e.g. `sms,push` on a staging stack; a "
                "worker whose scenarios use a channel with neither a provider nor this refuses "
                "to start (`omni dev` records such channels itself)",
                "none",
            ),
        ),
    ),
    Group(
        "email",
        EmailSettings,
        "Email (SMTP); unset: no provider (`omni dev`: its mail sink)",
        (
            Var("OMNI_SMTP_HOST", "host", "SMTP server"),
            Var("OMNI_SMTP_PORT", "port", "SMTP port"),
            Var("OMNI_SMTP_SECURITY", "security", "`starttls`, `tls` or `none`"),
            Var("OMNI_SMTP_USERNAME", "username", "AUTH user; empty skips AUTH"),
            Var("OMNI_SMTP_PASSWORD", "password", "AUTH password"),
            Var("OMNI_EMAIL_FROM", "sender", "From header"),
            Var("OMNI_EMAIL_REPLY_TO", "reply_to", "Reply-To header"),
        ),
        enabled_by="OMNI_SMTP_HOST",
    ),
    Group(
        "dkim",
        DkimFiles,
        "DKIM signing of email (the three together, with `OMNI_SMTP_HOST`)",
        (
            Var("OMNI_DKIM_SELECTOR", "selector", "DKIM selector"),
            Var("OMNI_DKIM_DOMAIN", "domain", "DKIM signing domain"),
            Var("OMNI_DKIM_KEY_FILE", "key_file", "DKIM private key (PEM file)"),
        ),
        enabled_by=("OMNI_DKIM_SELECTOR", "OMNI_DKIM_DOMAIN", "OMNI_DKIM_KEY_FILE"),
    ),
    Group(
        "telegram",
        TelegramSettings,
        "Telegram; unset: no provider",
        (
            Var("OMNI_TELEGRAM_BOT_TOKEN", "token", "bot token from @BotFather"),
            Var("OMNI_TELEGRAM_API_URL", "base_url", "Bot API root"),
            Var("OMNI_TELEGRAM_PER_SECOND", "messages_per_second", "messages a second for the bot"),
        ),
        enabled_by="OMNI_TELEGRAM_BOT_TOKEN",
    ),
    Group(
        "sms",
        SmsSettings,
        "SMS (Twilio); unset: no provider",
        (
            Var(
                "OMNI_TWILIO_ACCOUNT_SID",
                "account_sid",
                "account SID",
                also=("whatsapp.account_sid",),
            ),
            Var(
                "OMNI_TWILIO_AUTH_TOKEN",
                "auth_token",
                "auth token; also verifies Twilio's webhooks on the API",
                also=("whatsapp.auth_token", "api.twilio_auth_token"),
            ),
            Var("OMNI_TWILIO_FROM", "from_number", "sender number (E.164)"),
            Var(
                "OMNI_TWILIO_MESSAGING_SERVICE_SID",
                "messaging_service_sid",
                "or a Messaging Service SID",
            ),
            Var("OMNI_TWILIO_API_URL", "base_url", "Twilio API root", also=("whatsapp.base_url",)),
            Var("OMNI_SMS_PER_SECOND", "messages_per_second", "the sender's rate"),
            Var(
                "OMNI_SMS_MAX_SEGMENTS",
                "max_segments",
                "longer messages are refused before sending",
            ),
        ),
        enabled_by="OMNI_TWILIO_ACCOUNT_SID",
    ),
    Group(
        "whatsapp",
        WhatsappSettings,
        "WhatsApp (Twilio, with the account above); unset: no provider",
        (
            Var(
                "OMNI_WHATSAPP_FROM",
                "from_number",
                "WhatsApp sender registered with Twilio (E.164, without `whatsapp:`); "
                "switches WhatsApp on",
            ),
            Var(
                "OMNI_WHATSAPP_MESSAGING_SERVICE_SID",
                "messaging_service_sid",
                "or a Messaging Service SID with a WhatsApp sender (switches it on too)",
            ),
            Var("OMNI_WHATSAPP_PER_SECOND", "messages_per_second", "the sender's rate"),
        ),
        enabled_by=("OMNI_WHATSAPP_FROM", "OMNI_WHATSAPP_MESSAGING_SERVICE_SID"),
    ),
    Group(
        "push",
        PushSettings,
        "Web push; unset: no provider",
        (
            Var(
                "OMNI_VAPID_PRIVATE_KEY",
                "vapid_private_key",
                "VAPID private key (`omni vapid-keys`)",
            ),
            Var("OMNI_VAPID_SUBJECT", "subject", "VAPID contact, `mailto:` or https"),
            Var("OMNI_PUSH_TTL", "ttl", "seconds a push service keeps an undelivered message"),
            Var(
                "OMNI_PUSH_TRUSTED_ORIGINS",
                "trusted_origins",
                "push services allowed over http or at private addresses (comma-separated "
                "origins: a self-hosted relay, tests); others must be public https",
            ),
        ),
        enabled_by="OMNI_VAPID_PRIVATE_KEY",
    ),
    Group(
        "client",
        ClientSettings,
        "`omni send-event` (a client of the API)",
        (
            Var(
                "OMNI_API_URL", "api_url", "the API to post to", "the local API on `OMNI_API_PORT`"
            ),
            Var(
                "OMNI_API_KEY",
                "api_key",
                "its API key (`omni api-key create NAME`)",
                "the key `omni dev` keeps in `OMNI_DATA_DIR`",
            ),
        ),
    ),
)


#: What a channel needs beyond its group's own required variables.
_ALSO: dict[str, tuple[str, ...]] = {
    "sms": ("OMNI_TWILIO_FROM or OMNI_TWILIO_MESSAGING_SERVICE_SID",),
    "whatsapp": ("OMNI_TWILIO_ACCOUNT_SID", "OMNI_TWILIO_AUTH_TOKEN"),
}


def group(name: str) -> Group:
    return next(g for g in SETTINGS if g.name == name)


def provider_variables(channel: str) -> str:
    """The variables that give ``channel`` a provider, for messages saying it has none."""
    g = group(channel)
    required = {name for name, f in g.cls.model_fields.items() if f.is_required()}
    names = [" or ".join(g.switches)]
    names += [v.env for v in g.vars if v.field in required and v.env not in g.switches]
    return ", ".join([*names, *_ALSO.get(channel, ())])


def _shown(value: Any) -> str:
    if value in (None, "", (), PydanticUndefined) or hasattr(value, "get_secret_value"):
        return "—"
    return f"`{value}`"


def config_markdown() -> str:
    """docs/operations.md's configuration table, generated from ``SETTINGS``."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for g in SETTINGS:
        rows.append(f"| **{g.doc}** | | |")
        for v in g.vars:
            shown = v.default or _shown(g.cls.model_fields[v.field].default)
            rows.append(f"| `{v.env}` | {shown} | {v.doc} |")
    return "\n".join(rows) + "\n"

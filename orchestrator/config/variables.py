"""Every environment variable, the settings field it sets, and the table made from them
(the configuration table in docs/operations.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import fields

from orchestrator.api.services import ApiSettings
from orchestrator.config.channel_variables import CHANNEL_GROUPS, RECORDING
from orchestrator.config.groups import (
    CodecSettings,
    DevSettings,
    ListenSettings,
    ObservabilitySettings,
    ScenarioSettings,
    StoreSettings,
    TemporalSettings,
    TrackingSettings,
)
from orchestrator.config.spec import Group, Var
from orchestrator.console.settings import ConsoleSettings
from orchestrator.engine.policies import FrequencyPolicy

__all__ = ["SETTINGS", "Group", "Var", "config_markdown"]


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
                "development data (store, Temporal dev database, outbox, mail)",
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
                "OMNI_TWILIO_AUTH_TOKEN",
                "twilio_auth_token",
                "verifies Twilio webhooks (and sends SMS)",
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
    RECORDING,
    *CHANNEL_GROUPS,
)


def config_markdown() -> str:
    """docs/operations.md's configuration table, generated from ``SETTINGS``."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for group in SETTINGS:
        defaults = {f.name: f.default for f in fields(group.cls)}
        rows.append(f"| **{group.doc}** | | |")
        for v in group.vars:
            value = defaults.get(v.field)
            shown = v.default or (
                f"`{value}`" if value not in (None, "", (), dataclasses.MISSING) else "—"
            )
            rows.append(f"| `{v.env}` | {shown} | {v.doc} |")
    return "\n".join(rows) + "\n"

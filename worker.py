"""The Omni worker: the only place that reads configuration and builds clients.

Every setting comes from the environment (documented in README.md, "Configuration").
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, fields
from pathlib import Path

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import TLSConfig

from channels.base import Channel
from channels.email import EmailChannel, EmailSettings
from channels.email_message import DkimKey
from channels.outbox import OutboxChannel
from channels.push import PushChannel, PushSettings
from channels.sms import SmsChannel, SmsSettings, twilio_client
from channels.telegram import TelegramChannel, TelegramSettings, telegram_bot
from orchestrator.api.app import create_app
from orchestrator.api.serve import serving
from orchestrator.api.services import ApiSettings, build_services
from orchestrator.api.telegram_poll import poll_updates
from orchestrator.engine.activities import Activities
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.tracking import Tracker
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import default_url, make_engine, sessions
from orchestrator.store.links import SqlShortLinks
from orchestrator.store.sendlog import SqlSendLog

log = logging.getLogger("omni.worker")


@dataclass(frozen=True)
class WorkerConfig:
    #: host:port of the Temporal frontend (a self-hosted cluster or Temporal Cloud).
    temporal_address: str = "localhost:7233"
    #: Temporal namespace.
    namespace: str = "default"
    #: Task queue shared by the workers and the event router.
    task_queue: str = "omni"
    #: Temporal Cloud API key; implies TLS.
    api_key: str | None = None
    #: mTLS client certificate and key (PEM files).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle for the server certificate (PEM); set to use TLS without client auth.
    tls_ca: Path | None = None
    #: Folders holding scenario YAML and templates.
    scenarios_dir: Path = Path("scenarios")
    templates_dir: Path = Path("templates")
    #: Where development data lives (contacts file, outbox, Temporal dev database).
    data_dir: Path = Path(".data")
    #: Time zone for customers whose profile has none.
    default_timezone: str = "UTC"
    #: SQLAlchemy URL of the customer store; default: SQLite under data_dir.
    database_url: str = ""
    #: Where the HTTP API listens.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: The API's public base URL (https in production): tracking links, unsubscribe, webhooks.
    public_base_url: str = "http://127.0.0.1:8000"
    #: Reject events no scenario knows (422) instead of reporting them.
    strict_events: bool = False
    #: Largest accepted request body in bytes.
    max_body_bytes: int = 1_048_576
    #: HMAC secret for tracking links (>= 32 bytes); comma-separated older secrets still verify.
    tracking_secret: str = ""
    tracking_previous: tuple[str, ...] = ()
    #: SMTP server; unset: email goes to the development outbox.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    email_from: str = "Omni <omni@localhost>"
    email_reply_to: str = ""
    #: Postal address in every marketing email footer and the unsubscribe page (CAN-SPAM).
    postal_address: str = ""
    #: DKIM: selector, domain and PEM private key file; all three or none.
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_key_file: Path | None = None
    #: Telegram webhook secret and the bot's username (for t.me deep links).
    telegram_secret_token: str = ""
    telegram_bot_username: str = ""
    #: Twilio auth token, to verify webhook signatures.
    twilio_auth_token: str = ""
    #: Telegram bot token; unset: Telegram goes to the development outbox.
    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_per_second: float = 30.0
    #: Twilio account; with a sender number or Messaging Service SID it enables SMS.
    twilio_account_sid: str = ""
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    sms_per_second: float = 1.0
    sms_max_segments: int = 4
    #: Web push: VAPID private key (PEM or base64url) and contact subject.
    vapid_private_key: str = ""
    vapid_subject: str = ""
    push_ttl: int = 86400

    def __repr__(self) -> str:
        # Never print secrets (this object ends up in logs and tracebacks).
        hidden = {
            "api_key",
            "tracking_secret",
            "tracking_previous",
            "smtp_password",
            "telegram_secret_token",
            "twilio_auth_token",
        }
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name not in hidden
        )
        return f"WorkerConfig({shown})"

    @property
    def db_url(self) -> str:
        return self.database_url or default_url(self.data_dir)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WorkerConfig:
        e = os.environ if env is None else env

        def path(name: str) -> Path | None:
            return Path(e[name]) if e.get(name) else None

        defaults = cls()
        return cls(
            temporal_address=e.get("OMNI_TEMPORAL_ADDRESS", defaults.temporal_address),
            namespace=e.get("OMNI_TEMPORAL_NAMESPACE", defaults.namespace),
            task_queue=e.get("OMNI_TASK_QUEUE", defaults.task_queue),
            api_key=e.get("OMNI_TEMPORAL_API_KEY") or None,
            tls_cert=path("OMNI_TEMPORAL_TLS_CERT"),
            tls_key=path("OMNI_TEMPORAL_TLS_KEY"),
            tls_ca=path("OMNI_TEMPORAL_TLS_CA"),
            scenarios_dir=path("OMNI_SCENARIOS_DIR") or defaults.scenarios_dir,
            templates_dir=path("OMNI_TEMPLATES_DIR") or defaults.templates_dir,
            data_dir=path("OMNI_DATA_DIR") or defaults.data_dir,
            default_timezone=e.get("OMNI_DEFAULT_TIMEZONE", defaults.default_timezone),
            database_url=e.get("DATABASE_URL", ""),
            api_host=e.get("OMNI_API_HOST", defaults.api_host),
            api_port=int(e.get("OMNI_API_PORT", defaults.api_port)),
            public_base_url=e.get("OMNI_PUBLIC_URL", defaults.public_base_url).rstrip("/"),
            strict_events=e.get("OMNI_STRICT_EVENTS", "").lower() in ("1", "true", "yes"),
            max_body_bytes=int(e.get("OMNI_MAX_BODY_BYTES", defaults.max_body_bytes)),
            tracking_secret=e.get("OMNI_TRACKING_SECRET", ""),
            tracking_previous=tuple(x for x in e.get("OMNI_TRACKING_PREVIOUS", "").split(",") if x),
            smtp_host=e.get("OMNI_SMTP_HOST", ""),
            smtp_port=int(e.get("OMNI_SMTP_PORT", defaults.smtp_port)),
            smtp_security=e.get("OMNI_SMTP_SECURITY", defaults.smtp_security),
            smtp_username=e.get("OMNI_SMTP_USERNAME", ""),
            smtp_password=e.get("OMNI_SMTP_PASSWORD", ""),
            email_from=e.get("OMNI_EMAIL_FROM", defaults.email_from),
            email_reply_to=e.get("OMNI_EMAIL_REPLY_TO", ""),
            postal_address=e.get("OMNI_POSTAL_ADDRESS", ""),
            dkim_selector=e.get("OMNI_DKIM_SELECTOR", ""),
            dkim_domain=e.get("OMNI_DKIM_DOMAIN", ""),
            dkim_key_file=path("OMNI_DKIM_KEY_FILE"),
            telegram_secret_token=e.get("OMNI_TELEGRAM_SECRET_TOKEN", ""),
            telegram_bot_username=e.get("OMNI_TELEGRAM_BOT_USERNAME", ""),
            twilio_auth_token=e.get("OMNI_TWILIO_AUTH_TOKEN", ""),
            telegram_bot_token=e.get("OMNI_TELEGRAM_BOT_TOKEN", ""),
            telegram_api_url=e.get("OMNI_TELEGRAM_API_URL", defaults.telegram_api_url),
            telegram_per_second=float(
                e.get("OMNI_TELEGRAM_PER_SECOND", defaults.telegram_per_second)
            ),
            twilio_account_sid=e.get("OMNI_TWILIO_ACCOUNT_SID", ""),
            twilio_from=e.get("OMNI_TWILIO_FROM", ""),
            twilio_messaging_service_sid=e.get("OMNI_TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_api_url=e.get("OMNI_TWILIO_API_URL", defaults.twilio_api_url),
            sms_per_second=float(e.get("OMNI_SMS_PER_SECOND", defaults.sms_per_second)),
            sms_max_segments=int(e.get("OMNI_SMS_MAX_SEGMENTS", defaults.sms_max_segments)),
            vapid_private_key=e.get("OMNI_VAPID_PRIVATE_KEY", ""),
            vapid_subject=e.get("OMNI_VAPID_SUBJECT", ""),
            push_ttl=int(e.get("OMNI_PUSH_TTL", defaults.push_ttl)),
        )

    def tls(self) -> TLSConfig | bool:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both OMNI_TEMPORAL_TLS_CERT and OMNI_TEMPORAL_TLS_KEY for mTLS")
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=self.tls_cert.read_bytes(),
                client_private_key=self.tls_key.read_bytes(),
                server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None,
            )
        if self.tls_ca:
            return TLSConfig(server_root_ca_cert=self.tls_ca.read_bytes())
        return self.api_key is not None


async def connect(config: WorkerConfig) -> Client:
    return await Client.connect(
        config.temporal_address,
        namespace=config.namespace,
        api_key=config.api_key,
        tls=config.tls(),
    )


def load_scenarios(config: WorkerConfig) -> dict[str, Scenario]:
    """Validated at start: a broken scenario stops the worker with file:line errors."""
    return load_or_raise([config.scenarios_dir], config.templates_dir)


def open_store(config: WorkerConfig) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = make_engine(config.db_url)
    return engine, sessions(engine)


def tracker(config: WorkerConfig) -> Tracker | None:
    if not config.tracking_secret:
        return None
    return Tracker(
        config.tracking_secret.encode(),
        config.public_base_url,
        previous=tuple(p.encode() for p in config.tracking_previous),
    )


def email_settings(config: WorkerConfig) -> EmailSettings | None:
    if not config.smtp_host:
        return None
    dkim = None
    if config.dkim_selector or config.dkim_domain or config.dkim_key_file:
        if not (config.dkim_selector and config.dkim_domain and config.dkim_key_file):
            raise ValueError(
                "DKIM needs OMNI_DKIM_SELECTOR, OMNI_DKIM_DOMAIN and OMNI_DKIM_KEY_FILE together"
            )
        dkim = DkimKey(config.dkim_selector, config.dkim_domain, config.dkim_key_file.read_bytes())
    return EmailSettings(
        host=config.smtp_host,
        port=config.smtp_port,
        security=config.smtp_security,
        username=config.smtp_username,
        password=config.smtp_password,
        sender=config.email_from,
        reply_to=config.email_reply_to,
        postal_address=config.postal_address,
        dkim=dkim,
    )


def build_channels(config: WorkerConfig) -> dict[str, Channel]:
    """Configured providers; every other channel records to the development outbox."""
    outbox = config.data_dir / "outbox"
    channels: dict[str, Channel] = {
        name: OutboxChannel(name, file=outbox / f"{name}.jsonl") for name in CHANNELS
    }
    email = email_settings(config)
    if email is not None:
        channels["email"] = EmailChannel(email)
    if config.vapid_private_key:
        channels["push"] = PushChannel(
            PushSettings(
                vapid_private_key=config.vapid_private_key,
                subject=config.vapid_subject,
                ttl=config.push_ttl,
            ),
            aiohttp.ClientSession(),
        )
    if config.telegram_bot_token:
        tg = TelegramSettings(
            token=config.telegram_bot_token,
            base_url=config.telegram_api_url,
            messages_per_second=config.telegram_per_second,
        )
        channels["telegram"] = TelegramChannel(tg, telegram_bot(tg))
    if config.twilio_account_sid:
        sms = SmsSettings(
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token,
            from_number=config.twilio_from,
            messaging_service_sid=config.twilio_messaging_service_sid,
            base_url=config.twilio_api_url,
            messages_per_second=config.sms_per_second,
            max_segments=config.sms_max_segments,
            status_callback_url=f"{config.public_base_url}/webhooks/twilio/status",
        )
        channels["sms"] = SmsChannel(sms, twilio_client(sms))
    return channels


def build_activities(
    config: WorkerConfig, factory: async_sessionmaker[AsyncSession], channels: dict[str, Channel]
) -> Activities:
    return Activities(
        directory=SqlContacts(factory),
        send_log=SqlSendLog(factory),
        channels=channels,
        default_timezone=config.default_timezone,
        tracker=tracker(config),
        short_links=SqlShortLinks(factory),
        status_callback_url=f"{config.public_base_url}/webhooks/twilio/status"
        if config.twilio_auth_token
        else "",
    )


async def run(
    config: WorkerConfig, client: Client | None = None, channels: dict[str, Channel] | None = None
) -> None:
    scenarios = load_scenarios(config)
    channels = channels if channels is not None else build_channels(config)
    for channel in channels.values():
        await channel.check()  # a misconfigured provider fails here, loudly, once
    client = client or await connect(config)
    engine, factory = open_store(config)
    log.info(
        "worker on %s/%s queue %s with %d scenarios",
        config.temporal_address,
        config.namespace,
        config.task_queue,
        len(scenarios),
    )
    try:
        await build_worker(
            client,
            task_queue=config.task_queue,
            activities=build_activities(config, factory, channels),
        ).run()
    finally:
        await engine.dispose()


async def run_api(config: WorkerConfig, client: Client | None = None) -> None:
    """Serve the HTTP API until cancelled."""
    scenarios = load_scenarios(config)
    client = client or await connect(config)
    engine, factory = open_store(config)
    settings = ApiSettings(
        strict_events=config.strict_events,
        max_body_bytes=config.max_body_bytes,
        public_base_url=config.public_base_url,
        telegram_secret_token=config.telegram_secret_token or None,
        telegram_bot_username=config.telegram_bot_username,
        twilio_auth_token=config.twilio_auth_token or None,
        postal_address=config.postal_address,
    )
    svc = build_services(
        client,
        factory,
        scenarios,
        task_queue=config.task_queue,
        settings=settings,
        tracker=tracker(config),
    )
    polling = None
    if config.telegram_bot_token and not config.telegram_secret_token:
        # No webhook secret: development mode, updates by long polling.
        tg = TelegramSettings(token=config.telegram_bot_token, base_url=config.telegram_api_url)
        polling = asyncio.create_task(poll_updates(telegram_bot(tg), svc))
    try:
        async with serving(create_app(svc), host=config.api_host, port=config.api_port):
            await asyncio.Event().wait()
    finally:
        if polling is not None:
            polling.cancel()
        await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(WorkerConfig.from_env()))

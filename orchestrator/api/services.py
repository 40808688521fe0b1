"""What the API handlers use, built once per process (see orchestrator.api.app.create_app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from orchestrator.api.keys import ApiKeys
from orchestrator.api.throttle import FailureThrottle
from orchestrator.engine.definitions import Definitions
from orchestrator.engine.messages import RunOptions
from orchestrator.engine.router import Router
from orchestrator.engine.tracking import Tracker
from orchestrator.language.model import Scenario
from orchestrator.store.batch import WriteBatcher
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import bound_waits
from orchestrator.store.events import EventLog
from orchestrator.store.inbound import InboundMessages
from orchestrator.store.links import SqlShortLinks
from orchestrator.store.runs import SqlRunIndex
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tokens import TokenUses
from orchestrator.store.versions import SqlVersions


@dataclass(frozen=True)
class ApiSettings:
    #: Reject events no scenario knows (422) instead of accepting and reporting them.
    strict_events: bool = False
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 1_048_576
    #: Public https base URL of this API (tracking links, unsubscribe, webhooks).
    public_base_url: str = "http://127.0.0.1:8000"
    #: Telegram webhook secret (X-Telegram-Bot-Api-Secret-Token); None disables the webhook.
    telegram_secret_token: str | None = field(default=None, repr=False)
    #: Telegram bot username, for t.me deep links.
    telegram_bot_username: str = ""
    #: Twilio auth token, to verify X-Twilio-Signature; None disables the Twilio webhooks.
    twilio_auth_token: str | None = field(default=None, repr=False)
    #: Postal address shown on the unsubscribe page (CAN-SPAM).
    postal_address: str = ""
    #: Seconds between outbox relay rounds (stored events not yet delivered); 0: no relay.
    relay_interval: float = 1.0
    #: Seconds the request that stored an event has to deliver it before a relay may.
    event_lease_seconds: float = 30.0
    #: Push origins exempt from the public-host check (tests, a private push service).
    trusted_push_origins: tuple[str, ...] = ()
    #: Seconds an API key verification is cached: a revoked key stops working on every API
    #: process within this time.
    key_cache_seconds: float = 2.0
    #: Failed authentications a client may make in a row before 429s, and how many a minute
    #: it regains (valid keys are never throttled).
    auth_failure_burst: int = 10
    auth_failures_per_minute: float = 30.0
    #: Seconds a request waits on a busy (locked) or unreachable store before it answers 503
    #: with Retry-After: SQLite's busy timeout, PostgreSQL's lock_timeout and
    #: statement_timeout, and the queue for SQLite's writer, on the API's engine only.
    store_deadline_seconds: float = 5.0


@dataclass
class Services:
    client: Client
    router: Router
    contacts: SqlContacts
    send_log: SqlSendLog
    events: EventLog
    runs: SqlRunIndex
    keys: ApiKeys
    tokens: TokenUses
    short_links: SqlShortLinks
    inbound: InboundMessages
    tracker: Tracker | None = None
    settings: ApiSettings = field(default_factory=ApiSettings)
    auth_throttle: FailureThrottle = field(default_factory=FailureThrottle)


def build_services(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    scenarios: dict[str, Scenario],
    *,
    task_queue: str,
    settings: ApiSettings | None = None,
    options: RunOptions | None = None,
    tracker: Tracker | None = None,
) -> Services:
    settings = settings or ApiSettings()
    # Before the first connection (the batcher's file twin included).
    bound_waits(sessions.kw["bind"], settings.store_deadline_seconds)
    batcher = WriteBatcher(sessions, timedelta(seconds=settings.event_lease_seconds))
    runs = SqlRunIndex(sessions, batcher)
    contacts = SqlContacts(
        sessions, trusted_push_origins=settings.trusted_push_origins, batcher=batcher
    )
    return Services(
        client=client,
        router=Router(
            client,
            scenarios,
            task_queue=task_queue,
            index=runs,
            options=options,
            record_runs=False,
            definitions=Definitions(SqlVersions(sessions)),
        ),
        contacts=contacts,
        send_log=SqlSendLog(sessions),
        events=EventLog(sessions, batcher),
        runs=runs,
        keys=ApiKeys(sessions, cache_ttl=settings.key_cache_seconds),
        tokens=TokenUses(sessions),
        short_links=SqlShortLinks(sessions),
        inbound=InboundMessages(sessions, contacts),
        tracker=tracker,
        settings=settings,
        auth_throttle=FailureThrottle(
            burst=settings.auth_failure_burst, per_minute=settings.auth_failures_per_minute
        ),
    )

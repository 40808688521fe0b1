"""What the API handlers use, built once per process (see orchestrator.api.app.create_app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from orchestrator.api.keys import ApiKeys
from orchestrator.engine.messages import RunOptions
from orchestrator.engine.router import Router
from orchestrator.engine.tracking import Tracker
from orchestrator.language.model import Scenario
from orchestrator.store.batch import WriteBatcher
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.events import EventLog
from orchestrator.store.links import SqlShortLinks
from orchestrator.store.runs import SqlRunIndex
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tokens import TokenUses


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
    #: Push origins exempt from the public-host check (tests, a private push service).
    trusted_push_origins: tuple[str, ...] = ()


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
    tracker: Tracker | None = None
    settings: ApiSettings = field(default_factory=ApiSettings)


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
    batcher = WriteBatcher(sessions)
    runs = SqlRunIndex(sessions, batcher)
    return Services(
        client=client,
        router=Router(
            client, scenarios, task_queue=task_queue, index=runs, options=options, record_runs=False
        ),
        contacts=SqlContacts(sessions, trusted_push_origins=settings.trusted_push_origins),
        send_log=SqlSendLog(sessions),
        events=EventLog(sessions, batcher),
        runs=runs,
        keys=ApiKeys(sessions),
        tokens=TokenUses(sessions),
        short_links=SqlShortLinks(sessions),
        tracker=tracker,
        settings=settings,
    )

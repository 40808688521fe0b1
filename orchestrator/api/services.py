"""What the API handlers use, built once per process (see orchestrator.api.app.create_app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from orchestrator.api.keys import ApiKeys
from orchestrator.api.settings import ApiSettings
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
from orchestrator.store.message_views import SqlMessages
from orchestrator.store.runs import SqlRunIndex
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tokens import TokenUses
from orchestrator.store.versions import SqlVersions


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
    #: The send log as runs and people read it (a run's messages without its query).
    messages: SqlMessages
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
        messages=SqlMessages(sessions),
        tracker=tracker,
        settings=settings,
        auth_throttle=FailureThrottle(
            burst=settings.auth_failure_burst, per_minute=settings.auth_failures_per_minute
        ),
    )

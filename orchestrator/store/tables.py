"""Tables. Changes go through an Alembic migration (orchestrator/store/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class ContactRow(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32), index=True)
    whatsapp: Mapped[str | None] = mapped_column(String(20), index=True)
    locale: Mapped[str | None] = mapped_column(String(35))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsentRow(Base):
    __tablename__ = "consents"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime]


class SuppressionRow(Base):
    """A channel the customer must not receive marketing on. Keyed by a hash of the address
    as well, so it survives an erasure (GDPR) without keeping the address itself."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("channel", "address_hash"),)


class PushSubscriptionRow(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("contact_id", "endpoint"),)


class SendRow(Base):
    """One row per idempotency key: what stops a retried activity from sending twice, and what
    the frequency cap and the funnel read. Bodies are not kept unless retention is enabled."""

    __tablename__ = "send_log"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(300), default="")
    customer_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(String(200), default="", index=True)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    #: The scenario version (content hash) the run executed.
    version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: A test send from the console (kept out of the funnel).
    test: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Why the send was last held back before it went (``quiet_hours``, ``events_pending``);
    #: kept whatever it came to after, so the console counts deferrals, not only sends held
    #: right now (``status`` is ``deferred`` while it waits).
    held: Mapped[str] = mapped_column(String(40), default="", server_default="")

    __table_args__ = (
        Index("ix_send_log_customer_sent", "customer_id", "status", "sent_at"),
        # The console's funnel: one scenario over a period, grouped by step and channel.
        Index("ix_send_log_funnel", "scenario", "created_at"),
        # The shop's latest reactions, read backwards from now (store/send_times.py).
        Index("ix_send_log_sent_at", "sent_at"),
    )


class EventRow(Base):
    """Events the API has accepted, and the outbox that delivers them to Temporal: the event
    is stored with its claim in one commit; ``delivered_at`` is set once every run it concerns
    was reached. Until then any API process's relay re-drives it after ``lease_until``."""

    __tablename__ = "events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The event as posted (name, customer, time, data, contact), for the relay.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Whoever delivers it (the request, then a relay) holds it until then.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_events_undelivered", "delivered_at", "lease_until"),)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(String(200))  # comma-separated; NULL: all


class ConsoleSessionRow(Base):
    """A console or codec server login (orchestrator.store.sessions says what ends it)."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    who: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str | None] = mapped_column(String(32), index=True)
    password_tag: Mapped[str | None] = mapped_column(String(64))
    app: Mapped[str] = mapped_column(String(16))  # "console" or "codec"
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class TokenUseRow(Base):
    """Tracking tokens already used (replay protection for one-shot tokens)."""

    __tablename__ = "token_uses"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime]


class RunRow(Base):
    """Runs the router started, so a later event finds them without a visibility query.
    Rows of ended runs are removed when a signal finds the run closed."""

    __tablename__ = "runs"

    workflow_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]

    __table_args__ = (Index("ix_runs_customer_scenario", "customer_id", "scenario"),)


class ShortLinkRow(Base):
    """Short codes for tracked links in SMS, where every character costs (a full token would
    push a message into extra segments), and for the preference center's link in SMS,
    Telegram and web push. ``customer_id`` (NULL on rows older than migration 0012): whose
    message the code is in, so erasure deletes their codes (the tokens name the customer)."""

    __tablename__ = "short_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)


class RunOutcomeRow(Base):
    """One Temporal execution of a scenario run, copied from Temporal's visibility (search
    attributes OmniScenario, OmniScenarioVersion, OmniCustomerId, OmniOutcome) by the console:
    what the funnel counts runs entered and their outcomes from. ``outcome`` is empty while the
    run is open."""

    __tablename__ = "run_outcomes"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(300))
    scenario: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64), default="")
    #: The customer as in workflow ids (orchestrator.engine.ids.customer_ref): no PII.
    customer_ref: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_run_outcomes_funnel", "scenario", "started_at"),)


class InboundRow(Base):
    """Inbound provider messages already handled (Twilio SMS and WhatsApp, by MessageSid): a
    replayed or retried webhook changes nothing. The latest WhatsApp one dates WhatsApp's
    24-hour window. Keeps the address's hash, never the number or the text."""

    __tablename__ = "inbound_messages"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))
    #: stop | start | help | reply
    action: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]

    __table_args__ = (Index("ix_inbound_address", "channel", "address_hash", "received_at"),)


class RunArmRow(Base):
    """A run's arm in an experiment: ``holdout`` (treated or held_out) or a ``split`` step's
    path (the variant), written by the ``assign`` activity when a trigger starts the run. The
    assignment is a stable hash of scenario, step and customer, so every run of one workflow id
    and version has the same arms: the console joins ``run_outcomes`` on (workflow_id,
    version)."""

    __tablename__ = "run_arms"

    workflow_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(200), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(100))
    #: The customer as in workflow ids (orchestrator.engine.ids.customer_ref): no PII.
    customer_ref: Mapped[str] = mapped_column(String(128))
    arm: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime]


class ScenarioVersionRow(Base):
    """A scenario version's templates, stored once (the version is their content hash): runs
    carry only the version, and any worker finds the templates here."""

    __tablename__ = "scenario_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(100))
    templates: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class PreferenceRow(Base):
    """What the customer chose in the preference center beyond consents (which stay in
    ``consents``): topics turned off, a preferred channel, a marketing pause."""

    __tablename__ = "contact_preferences"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    #: topic -> bool (absent: on).
    topics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    preferred_channel: Mapped[str] = mapped_column(String(16), default="")
    paused_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PreferenceAuditRow(Base):
    """Every preference change: who (an API key's name or ``preference_center``), when, what.
    Goes with the profile on erasure."""

    __tablename__ = "preference_audit"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    #: field -> {"from": old, "to": new}
    changes: Mapped[dict[str, Any]]


class SendTimeRow(Base):
    """A send held for its customer's best time (``at: best_time``), written by the
    ``best_time`` activity when it holds one: the console's chart of the messages still to go
    by local hour. Pending while its moment is ahead and the send log has no row for its key
    (a goal, exit or cancel that stops it writes one)."""

    __tablename__ = "send_times"

    #: The send key of the held message (its first channel's, for first_of).
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    scenario: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64), default="")
    step: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime]
    send_at: Mapped[datetime]
    #: The moment in the customer's zone: 0 = Monday; 0-23.
    local_day: Mapped[int]
    local_hour: Mapped[int]
    #: own, shop or fallback: whose reactions decided.
    source: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_send_times_pending", "scenario", "send_at"),)

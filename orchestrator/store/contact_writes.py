"""A contact's writes as blocking code over a sync Session, written once: orchestrator.store.
contacts runs them whole on one thread over SQLite's blocking twin, or in asyncpg's greenlet
(``AsyncSession.run_sync``) on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from orchestrator.engine.contacts import Contact
from orchestrator.store.tables import ConsentRow, ContactRow, PushSubscriptionRow

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "telegram_chat_id",
    "whatsapp",
    "locale",
    "timezone",
    "attributes",
)


def apply_on(engine: Engine, *args: Any) -> None:
    with Session(engine) as s, s.begin():
        apply_contact(s, *args)


def apply_contact(
    s: Session,
    contact_id: str,
    fields: dict[str, Any],
    merged: Contact,
    source: str,
    now: datetime,
) -> None:
    row = s.get(ContactRow, contact_id)
    if row is None:
        row = ContactRow(id=contact_id, attributes={}, created_at=now, updated_at=now)
        s.add(row)
    for name in PROFILE_FIELDS:
        if name in fields:
            setattr(row, name, getattr(merged, name))
    row.updated_at = now
    s.flush()
    for channel, granted in merged.consents.items():
        set_consent_row(s, contact_id, channel, granted, source, now)
    if "push_subscriptions" in fields:
        for sub in merged.push_subscriptions:
            add_subscription(s, contact_id, sub, now)


def set_consent_row(
    s: Session, contact_id: str, channel: str, granted: bool, source: str, now: datetime
) -> None:
    row = s.get(ConsentRow, (contact_id, channel))
    if row is None:
        s.add(
            ConsentRow(
                contact_id=contact_id, channel=channel, granted=granted, source=source, at=now
            )
        )
    elif row.granted != granted:
        row.granted, row.source, row.at = granted, source, now


def add_subscription(s: Session, contact_id: str, sub: dict[str, Any], now: datetime) -> None:
    existing = s.scalar(
        select(PushSubscriptionRow).where(
            PushSubscriptionRow.contact_id == contact_id,
            PushSubscriptionRow.endpoint == sub["endpoint"],
        )
    )
    if existing is None:
        s.add(
            PushSubscriptionRow(
                contact_id=contact_id,
                endpoint=sub["endpoint"],
                p256dh=sub["keys"]["p256dh"],
                auth=sub["keys"]["auth"],
                created_at=now,
            )
        )
    else:
        existing.p256dh, existing.auth = sub["keys"]["p256dh"], sub["keys"]["auth"]

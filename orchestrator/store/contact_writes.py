"""A contact's writes as blocking code over a sync Session, written once: orchestrator.store.
contacts runs them whole on one thread over SQLite's blocking twin, or in asyncpg's greenlet
(``AsyncSession.run_sync``) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from orchestrator.store.tables import ConsentRow, ContactRow, PushSubscriptionRow

CHUNK = 500
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


def apply_contact(s: Session, *args: Any) -> None:
    """``args``: contact id, the fields given, the validated Contact, source, time."""
    apply_contacts(s, [args])


def apply_contacts(s: Session, batch: Sequence[tuple[Any, ...]]) -> None:
    """Several events' contact fields in one session, in order (a customer's second event
    sees the first one's fields): two reads for the whole group, not one per row."""
    ids = list(dict.fromkeys(str(args[0]) for args in batch))
    rows: dict[str, ContactRow] = {}
    consents: dict[tuple[str, str], ConsentRow] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        rows.update(
            (r.id, r) for r in s.scalars(select(ContactRow).where(ContactRow.id.in_(chunk)))
        )
        consents.update(
            ((c.contact_id, c.channel), c)
            for c in s.scalars(select(ConsentRow).where(ConsentRow.contact_id.in_(chunk)))
        )
    for contact_id, fields, merged, _source, now in batch:
        row = rows.get(contact_id)
        if row is None:
            row = rows[contact_id] = ContactRow(
                id=contact_id, attributes={}, created_at=now, updated_at=now
            )
            s.add(row)
        for name in PROFILE_FIELDS:
            if name in fields:
                setattr(row, name, getattr(merged, name))
        row.updated_at = now
    s.flush()  # the contacts first: consents and subscriptions refer to them
    for contact_id, fields, merged, source, now in batch:
        for channel, granted in merged.consents.items():
            _consent(s, consents, contact_id, channel, granted, source, now)
        if "push_subscriptions" in fields:
            for sub in merged.push_subscriptions:
                add_subscription(s, contact_id, sub, now)


def set_consent_row(
    s: Session, contact_id: str, channel: str, granted: bool, source: str, now: datetime
) -> None:
    _consent(s, None, contact_id, channel, granted, source, now)


def _consent(
    s: Session,
    known: dict[tuple[str, str], ConsentRow] | None,
    contact_id: str,
    channel: str,
    granted: bool,
    source: str,
    now: datetime,
) -> None:
    """``known``: the consents read for the group (None: read this one)."""
    key = (contact_id, channel)
    row = known.get(key) if known is not None else s.get(ConsentRow, key)
    if row is None:
        row = ConsentRow(
            contact_id=contact_id, channel=channel, granted=granted, source=source, at=now
        )
        s.add(row)
        if known is not None:
            known[key] = row
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

"""A contact's writes as blocking code over a sync Session, written once: orchestrator.store.
contacts runs them whole on one thread over SQLite's blocking twin, or in asyncpg's greenlet
(``AsyncSession.run_sync``) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from orchestrator.engine.contacts import REPLACED, ContactFields, PushSubscription
from orchestrator.store.tables import ConsentRow, ContactRow, PushSubscriptionRow

CHUNK = 500


@dataclass(frozen=True)
class ContactWrite:
    """One change of a profile, checked (``SqlContacts.prepared``): ``Contact.updated``'s
    rule, in SQL."""

    contact_id: str
    fields: ContactFields
    source: str
    at: datetime


def apply_on(engine: Engine, write: ContactWrite) -> None:
    with Session(engine) as s, s.begin():
        apply_contacts(s, [write])


def apply_contact(s: Session, write: ContactWrite) -> None:
    apply_contacts(s, [write])


def apply_contacts(s: Session, batch: Sequence[ContactWrite]) -> None:
    """Several events' contact fields in one session, in order (a customer's second event
    sees the first one's fields): two reads for the whole group, not one per row."""
    ids = list(dict.fromkeys(w.contact_id for w in batch))
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
    for w in batch:
        row = rows.get(w.contact_id)
        if row is None:
            row = rows[w.contact_id] = ContactRow(
                id=w.contact_id, attributes={}, created_at=w.at, updated_at=w.at
            )
            s.add(row)
        for name in REPLACED:
            if name in w.fields.model_fields_set:
                setattr(row, name, getattr(w.fields, name))
        row.updated_at = w.at
    s.flush()  # the contacts first: consents and subscriptions refer to them
    for w in batch:
        for channel, granted in w.fields.consents.items():
            _consent(s, consents, w.contact_id, channel, granted, w.source, w.at)
        for sub in w.fields.push_subscriptions:
            add_subscription(s, w.contact_id, sub, w.at)


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


def add_subscription(s: Session, contact_id: str, sub: PushSubscription, now: datetime) -> None:
    existing = s.scalar(
        select(PushSubscriptionRow).where(
            PushSubscriptionRow.contact_id == contact_id,
            PushSubscriptionRow.endpoint == sub.endpoint,
        )
    )
    if existing is None:
        s.add(
            PushSubscriptionRow(
                contact_id=contact_id,
                endpoint=sub.endpoint,
                p256dh=sub.keys.p256dh,
                auth=sub.keys.auth,
                created_at=now,
            )
        )
    else:
        existing.p256dh, existing.auth = sub.keys.p256dh, sub.keys.auth

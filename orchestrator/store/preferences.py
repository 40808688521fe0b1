"""Preferences in SQL: topics, preferred channel and pause beside the profile; channels as the
profile's consents; every change audited (who, when, what) in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.contacts import Contact
from orchestrator.engine.preferences import Change, Preferences
from orchestrator.store.addresses import address_keys
from orchestrator.store.contact_writes import set_consent_row
from orchestrator.store.db import write_lock
from orchestrator.store.tables import (
    ConsentRow,
    ContactRow,
    PreferenceAuditRow,
    PreferenceRow,
    PushSubscriptionRow,
    SuppressionRow,
)

#: How many audit entries the API returns (newest first).
AUDIT_LIMIT = 200


@dataclass
class Profile:
    """What the preference center shows: the profile's addresses and consents, and the
    preferences; ``created_at`` dates the profile (a link older than it is not its)."""

    contact: Contact
    preferences: Preferences
    created_at: datetime
    consent_sources: dict[str, str] = field(default_factory=dict)


def _prefs(row: PreferenceRow | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        topics={str(k): bool(v) for k, v in (row.topics or {}).items()},
        preferred_channel=row.preferred_channel or "",
        paused_until=row.paused_until,
    )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class SqlPreferences:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], contacts: Any) -> None:
        """``contacts``: the SqlContacts that reads the whole profile."""
        self.sessions = sessions
        self.contacts = contacts

    async def preferences(self, contact_id: str) -> Preferences:
        async with self.sessions() as s:
            return _prefs(await s.get(PreferenceRow, contact_id))

    async def profile(self, contact_id: str) -> Profile | None:
        contact = await self.contacts.get(contact_id)
        if contact is None:
            return None
        async with self.sessions() as s:
            row = await s.get(ContactRow, contact_id)
            if row is None:  # erased meanwhile
                return None
            prefs = _prefs(await s.get(PreferenceRow, contact_id))
            sources = {
                c.channel: c.source
                for c in await s.scalars(
                    select(ConsentRow).where(ConsentRow.contact_id == contact_id)
                )
            }
            return Profile(contact, prefs, row.created_at, sources)

    async def change(
        self, contact_id: str, change: Change, *, actor: str, now: datetime
    ) -> dict[str, Any] | None:
        """Apply ``change`` and audit what it changed; the changes ({} if none), or None
        when there is no such contact."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            contact = await s.get(ContactRow, contact_id)
            if contact is None:
                return None
            consents = {
                c.channel: c
                for c in await s.scalars(
                    select(ConsentRow).where(ConsentRow.contact_id == contact_id)
                )
            }
            row = await s.get(PreferenceRow, contact_id)
            if row is None:
                row = PreferenceRow(
                    contact_id=contact_id, topics={}, preferred_channel="", updated_at=now
                )
                s.add(row)
            changes: dict[str, Any] = {}
            for channel, granted in sorted(change.channels.items()):
                old = consents[channel].granted if channel in consents else None
                if old != granted:
                    changes[f"channels.{channel}"] = {"from": old, "to": granted}
                    await s.run_sync(set_consent_row, contact_id, channel, granted, actor, now)
                if granted:  # an explicit opt-in lifts a marketing unsubscribe (not a STOP)
                    await self._lift_unsubscribe(s, contact, channel)
            topics = dict(row.topics or {})
            for topic, on in sorted(change.topics.items()):
                old_on = topics.get(topic, True)
                if old_on != on:
                    changes[f"topics.{topic}"] = {"from": old_on, "to": on}
                if on:
                    topics.pop(topic, None)
                else:
                    topics[topic] = False
            row.topics = topics
            if change.preferred_channel is not None:
                if change.preferred_channel != (row.preferred_channel or ""):
                    changes["preferred_channel"] = {
                        "from": row.preferred_channel or None,
                        "to": change.preferred_channel or None,
                    }
                row.preferred_channel = change.preferred_channel
            until = None if change.clear_pause else change.paused_until
            if change.clear_pause or change.paused_until is not None:
                active = row.paused_until if row.paused_until and row.paused_until > now else None
                if until != active:
                    changes["paused_until"] = {"from": _json(active), "to": _json(until)}
                row.paused_until = until
            row.updated_at = now
            if changes:
                s.add(
                    PreferenceAuditRow(contact_id=contact_id, actor=actor, at=now, changes=changes)
                )
        return changes

    async def _lift_unsubscribe(self, s: AsyncSession, contact: ContactRow, channel: str) -> None:
        subs = list(
            await s.scalars(
                select(PushSubscriptionRow).where(PushSubscriptionRow.contact_id == contact.id)
            )
        )
        keys = [k for ch, k in address_keys(contact, subs) if ch == channel]
        await s.execute(
            delete(SuppressionRow).where(
                SuppressionRow.channel == channel,
                SuppressionRow.reason == "unsubscribed",
                or_(SuppressionRow.contact_id == contact.id, SuppressionRow.address_hash.in_(keys)),
            )
        )

    async def audit(self, contact_id: str) -> list[dict[str, Any]]:
        async with self.sessions() as s:
            rows = await s.scalars(
                select(PreferenceAuditRow)
                .where(PreferenceAuditRow.contact_id == contact_id)
                .order_by(PreferenceAuditRow.id.desc())
                .limit(AUDIT_LIMIT)
            )
            return [{"actor": r.actor, "at": r.at.isoformat(), "changes": r.changes} for r in rows]

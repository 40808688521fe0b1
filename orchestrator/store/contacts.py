"""The customer profile in SQL: one row per customer with every address, consent (with source
and time), push subscriptions and suppressions. Implements the engine's ContactDirectory."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.contacts import (
    REPLACED,
    Contact,
    ContactFields,
    PushKeys,
    PushSubscription,
    refuse_endpoints,
    strongest,
)
from orchestrator.engine.policies import MARKETING_ONLY
from orchestrator.store.addresses import COLUMNS, address_hash, address_keys, holder_hash
from orchestrator.store.batch import WriteBatcher
from orchestrator.store.contact_writes import (
    ContactWrite,
    add_subscription,
    apply_contact,
    apply_on,
    set_consent_row,
)
from orchestrator.store.db import sqlite_twin, write_lock
from orchestrator.store.erasure import erase_contact
from orchestrator.store.tables import (
    ConsentRow,
    ContactRow,
    PushSubscriptionRow,
    SuppressionRow,
)


class SqlContacts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        trusted_push_origins: Collection[str] = (),
        batcher: WriteBatcher | None = None,
    ) -> None:
        self.sessions = sessions
        self.batcher = batcher
        #: Push origins exempt from the public-host check (tests, a private push service).
        self.trusted_push_origins = tuple(trusted_push_origins)

    async def get(self, contact_id: str) -> Contact | None:
        async with self.sessions() as s:
            return await self._load(s, contact_id)

    async def _load(self, s: AsyncSession, contact_id: str) -> Contact | None:
        row = await s.get(ContactRow, contact_id)
        if row is None:
            return None
        consents = (
            await s.scalars(select(ConsentRow).where(ConsentRow.contact_id == contact_id))
        ).all()
        subs = list(
            (
                await s.scalars(
                    select(PushSubscriptionRow)
                    .where(PushSubscriptionRow.contact_id == contact_id)
                    .order_by(PushSubscriptionRow.id)
                )
            ).all()
        )
        keys = address_keys(row, subs)
        cond = SuppressionRow.contact_id == contact_id
        if keys:
            cond = or_(cond, tuple_(SuppressionRow.channel, SuppressionRow.address_hash).in_(keys))
        found: dict[str, list[str]] = {}
        for x in await s.scalars(select(SuppressionRow).where(cond).order_by(SuppressionRow.id)):
            found.setdefault(x.channel, []).append(x.reason)
        # What the store wrote was checked on its way in: read back as it is, not checked
        # again (a rule tightened later must not make a kept profile unreadable).
        return Contact.model_construct(
            id=row.id,
            **{name: getattr(row, name) for name in REPLACED if name != "attributes"},
            attributes=dict(row.attributes or {}),  # null in rows an old ``null`` cleared
            consents={c.channel: c.granted for c in consents},
            push_subscriptions=[
                PushSubscription.model_construct(
                    endpoint=p.endpoint, keys=PushKeys.model_construct(p256dh=p.p256dh, auth=p.auth)
                )
                for p in subs
            ],
            suppressions={channel: strongest(reasons) for channel, reasons in found.items()},
        )

    async def history(self, contact_id: str) -> dict[str, Any]:
        """Where each consent came from and when, and when each suppression began."""
        async with self.sessions() as s:
            consents = (
                await s.scalars(select(ConsentRow).where(ConsentRow.contact_id == contact_id))
            ).all()
            suppressed = (
                await s.scalars(
                    select(SuppressionRow).where(SuppressionRow.contact_id == contact_id)
                )
            ).all()
        return {
            "consents": {
                c.channel: {"granted": c.granted, "source": c.source, "at": c.at.isoformat()}
                for c in consents
            },
            "suppressions": {
                x.channel: {"reason": x.reason, "at": x.at.isoformat()} for x in suppressed
            },
        }

    async def upsert(self, contact_id: str, fields: ContactFields, *, source: str) -> Contact:
        """Create or update (the rule of ``Contact.updated``); ContactInvalid, and nothing
        changes, for a push endpoint this deployment may not call."""
        await self.apply(self.prepared(contact_id, fields, source=source))
        contact = await self.get(contact_id)
        assert contact is not None
        return contact

    def prepared(self, contact_id: str, fields: ContactFields, *, source: str) -> ContactWrite:
        """The write of ``fields``, once this deployment may call their push endpoints
        (ContactInvalid naming the field if not): for ``apply`` or an event's claim."""
        refuse_endpoints((s.endpoint for s in fields.push_subscriptions), self.trusted_push_origins)
        return ContactWrite(contact_id, fields, source, datetime.now(UTC))

    async def apply(self, write: ContactWrite) -> None:
        """``upsert`` without reading the contact back (the event path needs no answer).
        On SQLite it runs whole on one thread over the file's blocking twin (the event path
        pays one hand-off, not one per statement)."""
        if self.batcher is not None:  # the API: in the group commit of claims and marks
            await self.batcher.apply_contact(write)
            return
        async with write_lock(self.sessions):
            twin = sqlite_twin(self.sessions.kw["bind"])
            if twin is not None:
                await asyncio.to_thread(apply_on, twin, write)
                return
            async with self.sessions() as s, s.begin():
                await s.run_sync(apply_contact, write)

    async def set_consent(self, contact_id: str, channel: str, granted: bool, source: str) -> bool:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            if await s.get(ContactRow, contact_id) is None:
                return False
            await s.run_sync(
                set_consent_row, contact_id, channel, granted, source, datetime.now(UTC)
            )
            if granted:  # an explicit new opt-in lifts an unsubscribe on that channel
                await self._unsuppress(s, contact_id, channel, ("unsubscribed", "stop"))
        return True

    async def add_push_subscription(self, contact_id: str, sub: PushSubscription) -> bool:
        """False: no such contact; ContactInvalid: an endpoint this deployment may not call."""
        # The body is one subscription: its field is ``endpoint``.
        refuse_endpoints([sub.endpoint], self.trusted_push_origins, field="endpoint")
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            if await s.get(ContactRow, contact_id) is None:
                return False
            await s.run_sync(add_subscription, contact_id, sub, datetime.now(UTC))
        return True

    async def remove_push_subscriptions(self, endpoints: list[str]) -> int:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            done = await s.execute(
                delete(PushSubscriptionRow).where(PushSubscriptionRow.endpoint.in_(endpoints))
            )
        return int(getattr(done, "rowcount", 0) or 0)

    async def suppress(self, contact_id: str, channel: str, reason: str) -> bool:
        """Suppress ``channel`` for this customer in every scenario at once: for marketing
        only (``unsubscribed``) or for everything (any other reason)."""
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            return await self._suppress(s, contact_id, channel, reason)

    async def _suppress(self, s: AsyncSession, contact_id: str, channel: str, reason: str) -> bool:
        contact = await self._load(s, contact_id)
        if contact is None:
            return False
        keys = [address_hash(channel, a) for a in contact.addresses(channel)]
        for key in keys or [holder_hash(channel, contact_id)]:
            row = await s.scalar(
                select(SuppressionRow).where(
                    SuppressionRow.channel == channel, SuppressionRow.address_hash == key
                )
            )
            if row is None:
                s.add(
                    SuppressionRow(
                        contact_id=contact_id,
                        channel=channel,
                        address_hash=key,
                        reason=reason,
                        at=datetime.now(UTC),
                    )
                )
            elif row.reason in MARKETING_ONLY and reason not in MARKETING_ONLY:
                row.reason = reason  # from "no marketing" to "nothing at all"
        return True

    async def unsuppress(self, contact_id: str, channel: str) -> None:
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            await self._unsuppress(s, contact_id, channel, None)

    async def _unsuppress(
        self, s: AsyncSession, contact_id: str, channel: str, reasons: tuple[str, ...] | None
    ) -> None:
        """Lift suppressions held by the customer or by their current address (which may
        predate an erasure)."""
        row = await s.get(ContactRow, contact_id)
        if row is None:
            return
        subs = list(
            (
                await s.scalars(
                    select(PushSubscriptionRow).where(PushSubscriptionRow.contact_id == contact_id)
                )
            ).all()
        )
        keys = [k for ch, k in address_keys(row, subs) if ch == channel]
        cond = [
            SuppressionRow.channel == channel,
            or_(SuppressionRow.contact_id == contact_id, SuppressionRow.address_hash.in_(keys)),
        ]
        if reasons is not None:
            cond.append(SuppressionRow.reason.in_(reasons))
        await s.execute(delete(SuppressionRow).where(*cond))

    async def find(self, channel: str, address: str) -> str | None:
        """The customer id holding this address (inbound SMS and WhatsApp, Telegram chats)."""
        column = COLUMNS[channel]
        async with self.sessions() as s:
            return await s.scalar(select(ContactRow.id).where(column == address).limit(1))

    async def find_all(self, channel: str, address: str, limit: int = 50) -> list[str]:
        """Every customer id holding this address (two customers may share an email)."""
        column = COLUMNS[channel]
        async with self.sessions() as s:
            found = await s.scalars(
                select(ContactRow.id).where(column == address).order_by(ContactRow.id).limit(limit)
            )
            return list(found)

    async def erase(self, contact_id: str) -> bool:
        """GDPR erasure (``orchestrator.store.erasure``)."""
        return await erase_contact(self.sessions, contact_id)

"""Inbound messages (Twilio SMS and WhatsApp), each handled once, in the order they arrive;
the time of the latest WhatsApp one from a number dates WhatsApp's 24-hour window for it.

Twilio signs a webhook but the signature has no time in it: a recorded STOP/START request
stays valid forever. Every inbound message is therefore claimed by its MessageSid in the same
transaction that applies its opt-out or opt-in, so a replayed or retried request changes
nothing, and STOP/START of one number are applied one at a time, in arrival order (Twilio
sends no message time to order by)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.addresses import address_hash
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import InboundRow

OPT_ACTIONS = ("stop", "start")


class InboundMessages:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], contacts: SqlContacts) -> None:
        self.sessions = sessions
        self.contacts = contacts

    async def handle(
        self, *, sid: str, channel: str, address: str, action: str, customer: str | None
    ) -> bool:
        """Record message ``sid`` and apply its action (``stop`` suppresses ``channel`` for
        ``customer``, ``start`` lifts it). False, changing nothing, if ``sid`` was seen."""
        key = address_hash(channel, address)
        try:
            async with write_lock(self.sessions), self.sessions() as s, s.begin():
                if await s.get(InboundRow, sid) is not None:
                    return False
                if dialect_of(s) == "postgresql" and action in OPT_ACTIONS:
                    # STOP/START of one number queue here, so they apply in arrival order.
                    lock = func.pg_advisory_xact_lock(func.hashtextextended(key, 0))
                    await s.execute(select(lock))
                s.add(
                    InboundRow(
                        sid=sid,
                        channel=channel,
                        address_hash=key,
                        action=action,
                        received_at=datetime.now(UTC),
                    )
                )
                await s.flush()  # a concurrent duplicate fails here, before anything changes
                if customer is not None and action == "stop":
                    await self.contacts._suppress(s, customer, channel, "stop")
                elif customer is not None and action == "start":
                    await self.contacts._unsuppress(s, customer, channel, None)
        except IntegrityError:
            return False  # the same sid, handled by another request at the same moment
        return True

    async def last_received(self, channel: str, address: str) -> datetime | None:
        """When the latest message from ``address`` on ``channel`` arrived (None: never)."""
        async with self.sessions() as s:
            latest: datetime | None = await s.scalar(
                select(func.max(InboundRow.received_at)).where(
                    InboundRow.channel == channel,
                    InboundRow.address_hash == address_hash(channel, address),
                )
            )
        return latest

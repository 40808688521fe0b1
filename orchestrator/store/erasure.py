"""GDPR erasure of one customer's profile."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.store.db import write_lock
from orchestrator.store.tables import (
    ContactRow,
    EventRow,
    SendRow,
    SendTimeRow,
    ShortLinkRow,
    SuppressionRow,
)


async def erase_contact(sessions: async_sessionmaker[AsyncSession], contact_id: str) -> bool:
    """The profile goes; suppressions stay as address hashes only, so an opted-out address is
    never messaged again; the send log keeps no customer id; stored events keep their ids (so
    a repeat is still a duplicate) but not their data or contact fields; the short codes of
    their messages go (their tokens name the customer: a preference link then opens nothing,
    a click link no longer redirects). The sends held for their best time are forgotten.
    False: no such contact."""
    async with write_lock(sessions), sessions() as s, s.begin():
        row = await s.get(ContactRow, contact_id)
        if row is None:
            return False
        await s.execute(
            update(SuppressionRow)
            .where(SuppressionRow.contact_id == contact_id)
            .values(contact_id=None)
        )
        await s.execute(
            update(SendRow)
            .where(SendRow.customer_id == contact_id)
            .values(
                customer_id="erased:" + hashlib.sha256(contact_id.encode()).hexdigest()[:16],
                body=None,
            )
        )
        await s.execute(
            update(EventRow).where(EventRow.customer_id == contact_id).values(payload=None)
        )
        await s.execute(delete(ShortLinkRow).where(ShortLinkRow.customer_id == contact_id))
        # Held sends (at: best_time) name the customer; their runs find the send log anyway.
        await s.execute(delete(SendTimeRow).where(SendTimeRow.customer_id == contact_id))
        await s.delete(row)
    return True

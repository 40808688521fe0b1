"""Where each channel's address lives in the contacts table, and the hashes that key
suppressions and inbound messages to an address without keeping it."""

from __future__ import annotations

import hashlib

from orchestrator.engine.addresses import address_key, holder_key
from orchestrator.engine.contacts import ADDRESS_FIELDS
from orchestrator.store.tables import ContactRow, PushSubscriptionRow


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def address_hash(channel: str, address: str) -> str:
    return _hash(address_key(channel, address))


def holder_hash(channel: str, contact_id: str) -> str:
    """A suppression's key for a customer without an address on the channel."""
    return _hash(holder_key(channel, contact_id))


#: channel -> the column holding its address (push subscriptions have their own table).
COLUMNS = {
    channel: getattr(ContactRow, name)
    for channel, name in ADDRESS_FIELDS.items()
    if channel != "push"
}


def address_keys(row: ContactRow, subs: list[PushSubscriptionRow]) -> list[tuple[str, str]]:
    pairs = [(ch, getattr(row, column.key)) for ch, column in COLUMNS.items()]
    out = [(ch, address_hash(ch, a)) for ch, a in pairs if a]
    out += [("push", address_hash("push", s.endpoint)) for s in subs]
    return out

"""Where each channel's address lives in the contacts table, and the hashes that key
suppressions and inbound messages to an address without keeping it."""

from __future__ import annotations

import hashlib

from orchestrator.store.tables import ContactRow, PushSubscriptionRow


def address_hash(channel: str, address: str) -> str:
    return hashlib.sha256(f"{channel}:{address.strip().lower()}".encode()).hexdigest()


#: channel -> the column holding its address (push subscriptions have their own table).
COLUMNS = {
    "email": ContactRow.email,
    "sms": ContactRow.phone,
    "telegram": ContactRow.telegram_chat_id,
    "whatsapp": ContactRow.whatsapp,
}


def address_keys(row: ContactRow, subs: list[PushSubscriptionRow]) -> list[tuple[str, str]]:
    pairs = [(ch, getattr(row, column.key)) for ch, column in COLUMNS.items()]
    out = [(ch, address_hash(ch, a)) for ch, a in pairs if a]
    out += [("push", address_hash("push", s.endpoint)) for s in subs]
    return out

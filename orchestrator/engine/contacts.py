"""The customer profile and the directory the engine reads it from.

The simulator uses the in-memory directory; the SQL store implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from orchestrator.engine.addresses import (
    AddressInvalid,
    checked_push_subscription,
    normalised_email,
    normalised_phone,
)
from orchestrator.language.model import CHANNELS
from orchestrator.language.timezones import UnknownTimezone, zone

CONTACT_KEYS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "telegram_chat_id",
    "whatsapp",
    "push_subscriptions",
    "timezone",
    "locale",
    "consents",
    "attributes",
    "suppressions",
)


class ContactInvalid(ValueError):
    pass


@dataclass
class Contact:
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    telegram_chat_id: str | None = None
    push_subscriptions: list[dict[str, Any]] = field(default_factory=list)
    timezone: str | None = None
    locale: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    #: channel -> reason (unsubscribed, stop, bounced, blocked, expired)
    suppressions: dict[str, str] = field(default_factory=dict)
    #: The WhatsApp number (E.164). Never taken from ``phone``: a customer may use WhatsApp on
    #: another number, and the shop says which one (with a ``whatsapp`` consent) by setting it.
    whatsapp: str | None = None

    def address(self, channel: str) -> Any:
        """The channel address, or None when the customer has none for it."""
        return {
            "email": self.email,
            "sms": self.phone,
            "telegram": self.telegram_chat_id,
            "push": self.push_subscriptions or None,
            "whatsapp": self.whatsapp,
        }[channel]

    def public(self) -> dict[str, Any]:
        """The profile as templates and conditions see it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, *, trusted_push_origins: Collection[str] = ()) -> Contact:
        """Build a contact from API/CLI JSON; every problem names the field. Addresses are
        checked and normalised (``orchestrator.engine.addresses``); push endpoints must be
        https on a public host unless their origin is in ``trusted_push_origins``."""
        if not isinstance(data, dict):
            raise ContactInvalid("a contact must be a JSON object")
        unknown = sorted(set(data) - set(CONTACT_KEYS))
        if unknown:
            raise ContactInvalid(
                f"unknown contact field(s): {', '.join(unknown)}; known: {', '.join(CONTACT_KEYS)}"
            )
        if not isinstance(data.get("id"), (str, int)) or str(data.get("id")).strip() == "":
            raise ContactInvalid("contact field 'id' is required (the shop's customer id)")
        contact = cls(**{**data, "id": str(data["id"])})
        for name in (
            "first_name",
            "last_name",
            "email",
            "phone",
            "telegram_chat_id",
            "whatsapp",
            "timezone",
            "locale",
        ):
            value = getattr(contact, name)
            if value is not None and not isinstance(value, (str, int)):
                raise ContactInvalid(f"contact field {name!r} must be text")
            if isinstance(value, int):
                setattr(contact, name, str(value))
        for name in ("phone", "whatsapp"):
            value = getattr(contact, name)
            try:
                if value is not None:  # Twilio's "whatsapp:+..." form is the number too
                    setattr(contact, name, normalised_phone(value.removeprefix("whatsapp:")))
            except AddressInvalid as exc:
                raise ContactInvalid(f"contact field {name!r}: {exc}, not {value!r}") from None
        try:
            if contact.email is not None:
                contact.email = normalised_email(contact.email)
        except AddressInvalid as exc:
            raise ContactInvalid(f"contact field 'email': {exc}") from None
        if contact.timezone is not None:
            try:
                zone(contact.timezone)
            except UnknownTimezone as exc:
                raise ContactInvalid(f"contact field 'timezone': {exc}") from None
        if not isinstance(contact.push_subscriptions, list):
            raise ContactInvalid("contact field 'push_subscriptions' must be a list")
        try:
            contact.push_subscriptions = [
                checked_push_subscription(sub, trusted_push_origins)
                for sub in contact.push_subscriptions
            ]
        except AddressInvalid as exc:
            raise ContactInvalid(f"contact field 'push_subscriptions': {exc}") from None
        for mapping in ("consents", "suppressions"):
            for channel in getattr(contact, mapping):
                if channel not in CHANNELS:
                    raise ContactInvalid(f"contact field {mapping!r}: unknown channel {channel!r}")
        if not all(isinstance(v, bool) for v in contact.consents.values()):
            raise ContactInvalid("contact field 'consents' maps channel -> true/false")
        return contact


class ContactDirectory(Protocol):
    async def get(self, contact_id: str) -> Contact | None: ...

    async def suppress(self, contact_id: str, channel: str, reason: str) -> bool:
        """Never message this channel again (blocked bot, STOP, hard bounce...)."""
        ...

    async def remove_push_subscriptions(self, endpoints: list[str]) -> int: ...


class InMemoryDirectory:
    """Contacts held in a dict: for the simulator and workflow tests."""

    def __init__(self, contacts: list[Contact] | None = None) -> None:
        self._contacts = {c.id: c for c in contacts or []}

    async def get(self, contact_id: str) -> Contact | None:
        return self._contacts.get(contact_id)

    def put(self, contact: Contact) -> None:
        self._contacts[contact.id] = contact

    async def suppress(self, contact_id: str, channel: str, reason: str) -> bool:
        contact = self._contacts.get(contact_id)
        if contact is None:
            return False
        contact.suppressions[channel] = reason
        return True

    async def remove_push_subscriptions(self, endpoints: list[str]) -> int:
        removed = 0
        for contact in self._contacts.values():
            keep = [s for s in contact.push_subscriptions if s.get("endpoint") not in endpoints]
            removed += len(contact.push_subscriptions) - len(keep)
            contact.push_subscriptions = keep
        return removed

"""The customer profile: one model, checked once, used by the API, the engine and the stores.

``ContactFields`` is what a shop says about a customer — the body of ``PUT /v1/contacts/{id}``
and an event's ``contact`` — every field optional: a field left out keeps its value. Each
field's rule lives here and nowhere else: text a provider can take and the store's column sizes
(``engine.text``), addresses checked and normalised (``engine.addresses``), IANA time zones,
channels by name. Validation is strict: no number becomes text (but a Telegram chat id, which
the Bot API sends as a number), no ``"yes"`` becomes true.

``Contact`` is the whole profile as the engine reads it: the same fields, the id, and the
suppressions a store derives from its addresses. ``Contact.updated`` is how fields change a
profile, the rule every store keeps (held together by tests/store/test_contract_contacts.py).

Whether a push endpoint may be called is the deployment's policy, not the contact's shape:
stores refuse endpoints by ``refuse_endpoints`` before they write anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Annotated, Any, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from orchestrator.engine.addresses import (
    ENDPOINT_MAX,
    AddressInvalid,
    address_key,
    endpoint_refused,
    holder_key,
    normalised_email,
    normalised_phone,
    normalised_whatsapp,
    push_endpoint,
    push_key,
)
from orchestrator.engine.invalid import FieldInvalid, pydantic_refusals
from orchestrator.engine.policies import MARKETING_ONLY
from orchestrator.engine.text import MAX_DEPTH, TEXT_RULE, CustomerId, check_plain
from orchestrator.language.model import CHANNELS
from orchestrator.language.timezones import UnknownTimezone, zone


class ContactInvalid(FieldInvalid):
    """Contact data refused: by a store (a push endpoint this deployment may not call), or
    whole-profile JSON a person wrote (``--contact``, a scenario's sample)."""


def _checked(rule: Callable[[str], str], kind: str) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return rule(value)
        except (AddressInvalid, UnknownTimezone) as exc:
            raise PydanticCustomError(kind, "{problem}", {"problem": str(exc)}) from None

    return AfterValidator(check)


def _zone(value: str) -> str:
    zone(value)
    return value


def _none_is_empty(empty: Callable[[], Any]) -> BeforeValidator:
    # ``null`` for a collection means none given (consents, subscriptions) or none kept
    # (attributes, which an update replaces whole), as the API has always taken it.
    return BeforeValidator(lambda value: empty() if value is None else value)


def _chat_id_as_text(value: Any) -> Any:
    # The Bot API sends a chat id as a number (``-1001234567890`` for a group); True is none.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    # Every string in it may be rendered into a message: text a provider can take.
    check_plain(value, MAX_DEPTH)
    return value


def _text(max_length: int) -> tuple[Any, ...]:
    # The length first: its message then speaks of characters, and the checks after it never
    # see a megabyte.
    return (Field(max_length=max_length), TEXT_RULE)


Name = Annotated[str, *_text(200)]
Email = Annotated[str, *_text(320), _checked(normalised_email, "email")]
Phone = Annotated[str, *_text(20), _checked(normalised_phone, "phone")]
WhatsApp = Annotated[str, *_text(32), _checked(normalised_whatsapp, "phone")]
ChatId = Annotated[str, *_text(32), BeforeValidator(_chat_id_as_text)]
TimeZone = Annotated[str, *_text(64), _checked(_zone, "timezone")]
Locale = Annotated[str, *_text(35)]


def _channel(value: str) -> str:
    if value not in CHANNELS:
        problem = f"{value!r} is not a channel ({', '.join(CHANNELS)})"
        raise PydanticCustomError("channel", "{problem}", {"problem": problem})
    return value


#: A channel by name (text, so that every ``dict[str, …]`` of the engine takes it).
ChannelName = Annotated[
    str, AfterValidator(_channel), WithJsonSchema({"type": "string", "enum": list(CHANNELS)})
]
Consents = Annotated[
    dict[ChannelName, bool],
    _none_is_empty(dict),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"enum": list(CHANNELS)},
            "additionalProperties": {"type": "boolean"},
        }
    ),
]
Attributes = Annotated[dict[str, Any], _none_is_empty(dict), AfterValidator(_plain)]


class PushKeys(BaseModel):
    """What a browser's ``PushSubscription.toJSON().keys`` holds (other keys are dropped)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    p256dh: Annotated[str, _checked(lambda v: push_key(v, "p256dh"), "push_key")]
    auth: Annotated[str, _checked(lambda v: push_key(v, "auth"), "push_key")]


class PushSubscription(BaseModel):
    """A browser's ``PushSubscription.toJSON()``; ``expirationTime`` is taken, not kept."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    endpoint: Annotated[str, *_text(ENDPOINT_MAX), _checked(push_endpoint, "push_endpoint")]
    keys: PushKeys
    expirationTime: int | None = Field(default=None, exclude=True)


def _one_per_endpoint(subs: list[PushSubscription]) -> list[PushSubscription]:
    # A store keeps one subscription per endpoint: the last keys given, in first-given order.
    by_endpoint = {s.endpoint: s for s in subs}
    return [by_endpoint[e] for e in dict.fromkeys(s.endpoint for s in subs)]


PushSubscriptions = Annotated[
    list[PushSubscription], _none_is_empty(list), AfterValidator(_one_per_endpoint)
]


class ContactFields(BaseModel):
    """Fields to create or update; fields left out keep their values."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    id: CustomerId | None = Field(default=None, description="must equal the URL's id")
    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = Field(default=None, examples=["alex@example.com"])
    phone: Phone | None = Field(default=None, description="E.164: +4915112345678")
    telegram_chat_id: ChatId | None = Field(
        default=None,
        description="Telegram's chat id; a number (as the Bot API sends it) is taken as text",
        examples=["123456789"],
    )
    push_subscriptions: PushSubscriptions = Field(
        default_factory=list,
        description="browsers' PushSubscription.toJSON(); added to those kept (one per endpoint)",
    )
    timezone: TimeZone | None = Field(default=None, examples=["Europe/Berlin"])
    locale: Locale | None = Field(default=None, examples=["de-DE"])
    consents: Consents = Field(
        default_factory=dict,
        description="channel -> granted; channels not named keep their consent",
        examples=[{"email": True}],
    )
    attributes: Attributes = Field(default_factory=dict, description="replaced whole when given")
    whatsapp: WhatsApp | None = Field(
        default=None,
        description="WhatsApp number, E.164 (`whatsapp:+…` accepted); never taken from phone",
    )


#: channel -> the field holding its address. WhatsApp is never taken from ``phone``: a
#: customer may use WhatsApp on another number, and the shop says which one by setting it.
ADDRESS_FIELDS: dict[str, str] = {
    "email": "email",
    "sms": "phone",
    "telegram": "telegram_chat_id",
    "push": "push_subscriptions",
    "whatsapp": "whatsapp",
}
#: Fields an update replaces (``consents`` and ``push_subscriptions`` merge into what is kept).
REPLACED = tuple(
    name
    for name in ContactFields.model_fields
    if name not in ("id", "consents", "push_subscriptions")
)


class Contact(ContactFields):
    """The customer's profile, as templates, conditions and sends see it."""

    id: CustomerId
    #: channel -> reason (unsubscribed, stop, bounced, blocked, expired), derived by the store
    #: from the suppressions of the customer and of their addresses.
    suppressions: dict[ChannelName, str] = Field(default_factory=dict)

    def address(self, channel: str) -> Any:
        """The channel's address (push: the subscriptions as JSON), or None without one."""
        if channel == "push":
            return [s.model_dump() for s in self.push_subscriptions] or None
        return getattr(self, ADDRESS_FIELDS[channel])

    def addresses(self, channel: str) -> list[str]:
        """Every address of the channel (push: each endpoint)."""
        if channel == "push":
            return [s.endpoint for s in self.push_subscriptions]
        value = getattr(self, ADDRESS_FIELDS[channel])
        return [value] if value else []

    def public(self) -> dict[str, Any]:
        """The profile as templates and conditions see it (and the API answers)."""
        return self.model_dump()

    def updated(self, fields: ContactFields) -> Contact:
        """The profile after ``fields``: fields given replace those kept, ``null`` clears one;
        consents change per channel named; push subscriptions are added (or their keys
        replaced, per endpoint). Suppressions are the store's."""
        given = fields.model_fields_set
        change: dict[str, Any] = {name: getattr(fields, name) for name in REPLACED if name in given}
        change["consents"] = {**self.consents, **fields.consents}
        subs = {s.endpoint: s for s in self.push_subscriptions}
        subs.update((s.endpoint, s) for s in fields.push_subscriptions)
        change["push_subscriptions"] = list(subs.values())
        return self.model_copy(update=change)


def new_contact(contact_id: str) -> Contact:
    """A profile nobody has said anything about yet."""
    return Contact.model_construct(id=contact_id)


def contact_of(data: Any, source: str) -> Contact:
    """A whole profile from JSON a person wrote (``--contact``, a scenario's sample);
    ContactInvalid naming ``source`` and each broken rule."""
    try:
        return Contact.model_validate(data)
    except ValidationError as exc:
        found = pydantic_refusals(exc.errors())
        raise ContactInvalid(source, found[0].rule, "; ".join(map(str, found))) from None


def refuse_endpoints(
    endpoints: Iterable[str],
    trusted: Collection[str],
    field: str = "push_subscriptions[{i}].endpoint",
) -> None:
    """ContactInvalid naming ``field`` (``{i}``: the endpoint's index) for the first push
    endpoint this deployment may not call; what every store checks before it writes."""
    refused = endpoint_refused(endpoints, trusted)
    if refused is not None:
        i, why = refused
        raise ContactInvalid(field.format(i=i), "push_endpoint_refused", why)


class ContactDirectory(Protocol):
    async def get(self, contact_id: str) -> Contact | None: ...

    async def suppress(self, contact_id: str, channel: str, reason: str) -> bool:
        """Never message this channel again (blocked bot, STOP, hard bounce...): the
        customer's address on it, under this profile or any other. False: no such contact."""
        ...

    async def remove_push_subscriptions(self, endpoints: list[str]) -> int:
        """Forget these endpoints on every profile (the push service said they are gone)."""
        ...


def strongest(reasons: list[str]) -> str:
    """The suppression that holds when a channel has several (earliest first): one that ends
    every message beats a marketing-only one."""
    return next((r for r in reasons if r not in MARKETING_ONLY), reasons[0])


class InMemoryDirectory:
    """Contacts in a dict, kept as the SQL store keeps them (the contract tests hold the two
    together): for the simulator and workflow tests."""

    def __init__(
        self, contacts: list[Contact] | None = None, *, trusted_push_origins: Collection[str] = ()
    ) -> None:
        self.trusted_push_origins = tuple(trusted_push_origins)
        self._contacts: dict[str, Contact] = {}
        #: address_key (holder_key without an address) -> (channel, holder, reason)
        self._suppressed: dict[str, tuple[str, str | None, str]] = {}
        for contact in contacts or []:
            self.put(contact)

    def put(self, contact: Contact) -> None:
        """Keep ``contact`` as it is (a test's or the simulator's), suppressions included."""
        self._contacts[contact.id] = contact.model_copy(update={"suppressions": {}}, deep=True)
        for channel, reason in contact.suppressions.items():
            self._suppress(contact.id, channel, reason)

    async def get(self, contact_id: str) -> Contact | None:
        contact = self._contacts.get(contact_id)
        if contact is None:
            return None
        keys = {
            address_key(channel, address)
            for channel in ADDRESS_FIELDS
            for address in contact.addresses(channel)
        }
        found: dict[str, list[str]] = {}
        for key, (channel, holder, reason) in self._suppressed.items():
            if holder == contact_id or key in keys:
                found.setdefault(channel, []).append(reason)
        return contact.model_copy(
            update={"suppressions": {ch: strongest(reasons) for ch, reasons in found.items()}},
            deep=True,
        )

    async def upsert(self, contact_id: str, fields: ContactFields, *, source: str) -> Contact:
        """Create or update (``Contact.updated``); ContactInvalid, and nothing changes, for a
        push endpoint this deployment may not call."""
        refuse_endpoints((s.endpoint for s in fields.push_subscriptions), self.trusted_push_origins)
        kept = self._contacts.get(contact_id) or new_contact(contact_id)
        self._contacts[contact_id] = kept.updated(fields)
        found = await self.get(contact_id)
        assert found is not None
        return found

    async def suppress(self, contact_id: str, channel: str, reason: str) -> bool:
        if contact_id not in self._contacts:
            return False
        self._suppress(contact_id, channel, reason)
        return True

    def _suppress(self, contact_id: str, channel: str, reason: str) -> None:
        contact = self._contacts[contact_id]
        addresses = contact.addresses(channel)
        keys = [address_key(channel, a) for a in addresses] or [holder_key(channel, contact_id)]
        for key in keys:
            held = self._suppressed.get(key)
            if held is None:
                self._suppressed[key] = (channel, contact_id, reason)
            elif held[2] in MARKETING_ONLY and reason not in MARKETING_ONLY:
                self._suppressed[key] = (channel, held[1], reason)  # now nothing at all

    async def remove_push_subscriptions(self, endpoints: list[str]) -> int:
        removed = 0
        for contact_id, contact in self._contacts.items():
            keep = [s for s in contact.push_subscriptions if s.endpoint not in endpoints]
            removed += len(contact.push_subscriptions) - len(keep)
            self._contacts[contact_id] = contact.model_copy(update={"push_subscriptions": keep})
        return removed

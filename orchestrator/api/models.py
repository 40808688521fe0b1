"""Request and response bodies; validation errors become 422s naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from orchestrator.api.fields import CustomerId, EventId, Text, check_plain

NAME = r"^[a-z][a-z0-9_.]*$"
#: Event data nested deeper than this is refused: nothing a shop sends needs it, and deep
#: nesting exhausts JSON encoders further on.
MAX_DEPTH = 32
Channel = Literal["email", "push", "telegram", "sms", "whatsapp"]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=100, examples=["cart_updated"])
    customer_id: CustomerId = Field(examples=["42"])
    event_id: EventId = Field(description="Idempotency key: the same id twice does nothing")
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    contact: dict[str, Any] | None = Field(
        default=None, description="Contact fields to upsert before routing (id is implied)"
    )

    @field_validator("data", "contact")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        # Every string in it may be rendered into a message: text a provider can take.
        return check_plain(value, MAX_DEPTH)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=500)


def _shape(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


#: One event or a batch: told apart by an ``events`` key, so a bad batch's errors name
#: ``events[i].field`` rather than listing why it is not a single event either.
EventsBody = Annotated[
    Annotated[EventIn, Tag("event")] | Annotated[EventBatch, Tag("batch")],
    Discriminator(_shape),
]


class EventResult(BaseModel):
    event_id: str
    status: str = Field(
        description="accepted (reached its runs), pending (stored; Omni delivers it as soon as "
        "Temporal answers — do not resend), or duplicate (this event_id was delivered before)"
    )
    runs: list[str] = Field(default_factory=list, description="runs started or signalled")
    skipped: list[str] = Field(default_factory=list)
    unknown_event: bool = False
    versions: dict[str, str] = Field(
        default_factory=dict,
        description="scenario -> the version a run this event starts gets (running runs keep "
        "the version they started with)",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="fields a scenario's templates or conditions read that this event lacks, "
        "e.g. 'cart.items[0].qty missing, needed by abandoned_cart/reminder email'",
    )


class EventsAccepted(BaseModel):
    results: list[EventResult]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=r"^(email|push|telegram|sms|whatsapp)$")
    granted: bool
    source: Text = Field(default="api", max_length=200)


class PushSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(pattern=r"^https://", max_length=2000)
    keys: dict[Text, Text]
    expirationTime: int | None = None


class ContactIn(BaseModel):
    """Fields to create or update; fields left out keep their values."""

    model_config = ConfigDict(extra="forbid")

    id: CustomerId | None = Field(default=None, description="must equal the URL's id")
    first_name: Text | None = Field(default=None, max_length=200)
    last_name: Text | None = Field(default=None, max_length=200)
    email: Text | None = Field(default=None, max_length=320, examples=["alex@example.com"])
    phone: Text | None = Field(default=None, max_length=20, description="E.164: +4915112345678")
    telegram_chat_id: Text | None = Field(
        default=None,
        max_length=32,
        description="Telegram's chat id; a number (as the Bot API sends it) is taken as text",
        examples=["123456789"],
    )
    whatsapp: Text | None = Field(
        default=None,
        max_length=32,
        description="WhatsApp number, E.164 (`whatsapp:+…` accepted); never taken from phone",
    )
    push_subscriptions: list[PushSubscriptionIn] | None = None
    timezone: Text | None = Field(default=None, max_length=64, examples=["Europe/Berlin"])
    locale: Text | None = Field(default=None, max_length=35, examples=["de-DE"])
    consents: dict[Channel, bool] | None = Field(
        default=None, description="channel -> granted", examples=[{"email": True}]
    )
    attributes: dict[str, Any] | None = None

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: Any) -> Any:
        # An integer (``-1001234567890`` for a group) is normalised; True is not a chat id.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("attributes")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return check_plain(value, MAX_DEPTH)

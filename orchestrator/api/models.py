"""Request and response bodies; validation errors become 422s naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME = r"^[a-z][a-z0-9_.]*$"
Channel = Literal["email", "push", "telegram", "sms"]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=100, examples=["cart_updated"])
    customer_id: str = Field(min_length=1, max_length=128, examples=["42"])
    event_id: str = Field(
        min_length=1, max_length=200, description="Idempotency key: the same id twice does nothing"
    )
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    contact: dict[str, Any] | None = Field(
        default=None, description="Contact fields to upsert before routing (id is implied)"
    )


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=500)


class EventResult(BaseModel):
    event_id: str
    status: str = Field(description="accepted or duplicate")
    runs: list[str] = Field(default_factory=list, description="runs started or signalled")
    skipped: list[str] = Field(default_factory=list)
    unknown_event: bool = False
    warnings: list[str] = Field(
        default_factory=list,
        description="fields a scenario's templates or conditions read that this event lacks, "
        "e.g. 'cart.items[0].qty missing, needed by abandoned_cart/reminder email'",
    )


class EventsAccepted(BaseModel):
    results: list[EventResult]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(pattern=r"^(email|push|telegram|sms)$")
    granted: bool
    source: str = Field(default="api", max_length=200)


class PushSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(pattern=r"^https://", max_length=2000)
    keys: dict[str, str]
    expirationTime: int | None = None


class ContactIn(BaseModel):
    """Fields to create or update; fields left out keep their values."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=128, description="must equal the URL's id")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, examples=["alex@example.com"])
    phone: str | None = Field(default=None, max_length=20, description="E.164: +4915112345678")
    telegram_chat_id: str | None = Field(default=None, max_length=32)
    push_subscriptions: list[PushSubscriptionIn] | None = None
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Berlin"])
    locale: str | None = Field(default=None, max_length=35, examples=["de-DE"])
    consents: dict[Channel, bool] | None = Field(
        default=None, description="channel -> granted", examples=[{"email": True}]
    )
    attributes: dict[str, Any] | None = None

"""Request and response bodies; validation errors become 422s naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)

from orchestrator.engine.contacts import ChannelName
from orchestrator.engine.text import MAX_DEPTH, CustomerId, EventId, Text, check_plain

NAME = r"^[a-z][a-z0-9_.]*$"


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=100, examples=["cart_updated"])
    customer_id: CustomerId = Field(examples=["42"])
    event_id: EventId = Field(description="Idempotency key: the same id twice does nothing")
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    #: Checked by the route against ``ContactFields`` (so that a 422 names ``events[i]``, as
    #: for a batch), once; documented as one.
    contact: Annotated[
        dict[str, Any] | None,
        WithJsonSchema(
            {"anyOf": [{"$ref": "#/components/schemas/ContactFields"}, {"type": "null"}]}
        ),
    ] = Field(default=None, description="Contact fields to upsert before routing (id is implied)")

    @field_validator("data")
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

    channel: ChannelName
    granted: bool
    source: Text = Field(default="api", max_length=200)

"""/v1/contacts/{id}/preferences: the shop reads and changes what the preference center shows,
with the same checks, and reads who changed what when (the audit)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select

from orchestrator.api.auth import require_scope
from orchestrator.api.events import services
from orchestrator.api.keys import Grant
from orchestrator.api.services import Services
from orchestrator.engine.preferences import checked_change
from orchestrator.engine.text import CustomerId
from orchestrator.language.model import CHANNELS
from orchestrator.store.preferences import Profile, SqlPreferences
from orchestrator.store.tables import ApiKeyRow

router = APIRouter(prefix="/v1/contacts", tags=["preferences"])
Svc = Annotated[Services, Depends(services)]
#: Reading preferences is ``read``; the shop changing them on a customer's behalf is ``ingest``.
Reader = Annotated[Grant, Depends(require_scope("read"))]
Writer = Annotated[Grant, Depends(require_scope("ingest"))]


class PreferencesIn(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[str, StrictBool] | None = Field(
        default=None,
        description="channel -> on/off: the channel's marketing consent",
        examples=[{"sms": False}],
    )
    topics: dict[str, StrictBool] | None = Field(
        default=None,
        description="topic -> on/off (a scenario's `topic:`; transactional ones stay on)",
        examples=[{"cart_reminders": False}],
    )
    preferred_channel: str | None = Field(
        default=None, description="first in learned orders; null clears", examples=["telegram"]
    )
    paused_until: str | None = Field(
        default=None,
        description="no marketing until this ISO 8601 time (at most 366 days); null resumes",
        examples=["2027-01-31T00:00:00Z"],
    )


def store(svc: Services) -> SqlPreferences:
    return SqlPreferences(svc.contacts.sessions, svc.contacts)


def shop_topics(svc: Services) -> tuple[dict[str, str], set[str]]:
    """Every topic the shop's scenarios declare (topic -> "marketing" or "transactional"),
    and the switchable (marketing) ones."""
    kinds: dict[str, str] = {}
    for scenario in svc.router.scenarios.values():
        marketing = scenario.category == "marketing"
        if scenario.topic and (marketing or scenario.topic not in kinds):
            kinds[scenario.topic] = scenario.category
    return dict(sorted(kinds.items())), {t for t, k in kinds.items() if k == "marketing"}


def view(profile: Profile, topics: dict[str, str], now: datetime) -> dict[str, Any]:
    contact, prefs = profile.contact, profile.preferences
    return {
        "contact_id": contact.id,
        "channels": {
            channel: {
                "available": bool(contact.address(channel)),
                "on": contact.consents.get(channel) is True,
                "source": profile.consent_sources.get(channel),
                "suppressed": contact.suppressions.get(channel),
            }
            for channel in CHANNELS
        },
        "topics": {
            topic: {"on": kind != "marketing" or prefs.topics.get(topic, True), "kind": kind}
            for topic, kind in topics.items()
        },
        "preferred_channel": prefs.preferred_channel or None,
        "paused_until": prefs.paused_until.isoformat()
        if prefs.paused(now) and prefs.paused_until
        else None,
    }


async def _key_name(svc: Services, key_id: str) -> str:
    async with svc.contacts.sessions() as s:
        name = await s.scalar(select(ApiKeyRow.name).where(ApiKeyRow.id == key_id))
    return f"api_key:{name or key_id}"


@router.get("/{contact_id:path}/preferences/audit")
async def get_audit(contact_id: CustomerId, svc: Svc, _key: Reader) -> dict[str, Any]:
    """Every change, newest first: who (``api_key:<name>`` or ``preference_center``), when,
    what (field -> from, to)."""
    if await svc.contacts.get(contact_id) is None:
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    return {"contact_id": contact_id, "audit": await store(svc).audit(contact_id)}


@router.get("/{contact_id:path}/preferences")
async def get_preferences(contact_id: CustomerId, svc: Svc, _key: Reader) -> dict[str, Any]:
    profile = await store(svc).profile(contact_id)
    if profile is None:
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    return view(profile, shop_topics(svc)[0], datetime.now(UTC))


@router.put("/{contact_id:path}/preferences")
async def put_preferences(
    contact_id: CustomerId, body: PreferencesIn, svc: Svc, key: Writer
) -> dict[str, Any]:
    now = datetime.now(UTC)
    topics, switchable = shop_topics(svc)
    change = checked_change(  # PreferencesInvalid: a 422 naming the field and rule
        body.model_dump(exclude_unset=True), topics=set(topics), switchable=switchable, now=now
    )
    prefs = store(svc)
    actor = await _key_name(svc, key.key_id)
    changed = await prefs.change(contact_id, change, actor=actor, now=now)
    profile = await prefs.profile(contact_id)
    if changed is None or profile is None:
        raise HTTPException(404, detail=f"no contact {contact_id!r}")
    return {**view(profile, topics, now), "changed": changed}

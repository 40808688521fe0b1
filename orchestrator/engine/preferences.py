"""What a customer said in the preference center (or the shop said for them): topics off, a
preferred channel, marketing paused until a moment. Pure data and decisions; the store keeps
it (orchestrator.store.preferences), the send activity and the learned order obey it.

Channels on/off are not kept here: they are the profile's consents (source
``preference_center``), the one place every send already checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from orchestrator.engine.invalid import FieldInvalid
from orchestrator.language.model import CHANNELS

#: The source a change made by the customer is recorded with (consents and audit).
SOURCE = "preference_center"
#: The pauses the page offers, by name (the API takes an explicit ``paused_until`` too).
PAUSES = {"1w": timedelta(weeks=1), "1m": timedelta(days=30), "3m": timedelta(days=90)}
#: The longest pause the API accepts: a pause is not an unsubscribe.
MAX_PAUSE = timedelta(days=366)
TOPIC_FORM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PreferencesInvalid(FieldInvalid):
    """A change that cannot be applied."""


@dataclass
class Preferences:
    #: topic -> False when the customer turned it off (absent: on).
    topics: dict[str, bool] = field(default_factory=dict)
    #: The channel the customer prefers ("" none); the learned order puts it first.
    preferred_channel: str = ""
    #: Marketing paused until this moment (None: not paused).
    paused_until: datetime | None = None

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def as_json(self) -> dict[str, Any]:
        return {
            "topics": dict(sorted(self.topics.items())),
            "preferred_channel": self.preferred_channel or None,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
        }


class PreferenceReader(Protocol):
    async def preferences(self, contact_id: str) -> Preferences: ...


def send_skip(prefs: Preferences, *, category: str, topic: str, now: datetime) -> str:
    """Why a send must be skipped for these preferences ("" if it may go). Transactional
    messages (a receipt, a reminder the customer registered for) are never held back here."""
    if category != "marketing":
        return ""
    if prefs.paused(now):
        assert prefs.paused_until is not None
        return f"paused_by_customer: until {prefs.paused_until.isoformat()}"
    if topic and prefs.topics.get(topic) is False:
        return f"topic_off: {topic}"
    return ""


def preferred_first(order: list[int], channels: list[str], preferred: str) -> list[int]:
    """A learned order (indexes into ``channels``) with the stated preferred channel first."""
    first = [i for i in order if channels[i] == preferred]
    return first + [i for i in order if channels[i] != preferred]


@dataclass
class Change:
    """A validated change: only what is given changes."""

    channels: dict[str, bool] = field(default_factory=dict)
    topics: dict[str, bool] = field(default_factory=dict)
    #: None: unchanged; "": cleared.
    preferred_channel: str | None = None
    #: None: unchanged; ``clear_pause``: resume now.
    paused_until: datetime | None = None
    clear_pause: bool = False


def checked_change(
    data: dict[str, Any], *, topics: set[str], switchable: set[str], now: datetime
) -> Change:
    """A change from API or form data; PreferencesInvalid naming the field if it is not one.
    ``topics``: every topic the shop declares; ``switchable``: the marketing ones (a
    transactional topic is shown but cannot be turned off)."""
    change = Change()
    for name, value in _mapping(data.get("channels"), "channels").items():
        if name not in CHANNELS:
            raise PreferencesInvalid(f"channels.{_shown(name)}", "unknown_channel", "not a channel")
        change.channels[name] = _flag(value, f"channels.{name}")
    for name, value in _mapping(data.get("topics"), "topics").items():
        if not isinstance(name, str) or not TOPIC_FORM.match(name) or name not in topics:
            raise PreferencesInvalid(
                f"topics.{_shown(name)}", "unknown_topic", "not a topic of this shop"
            )
        flag = _flag(value, f"topics.{name}")
        if name not in switchable and not flag:
            raise PreferencesInvalid(
                f"topics.{name}", "transactional_topic", "transactional; cannot be turned off"
            )
        change.topics[name] = flag
    if "preferred_channel" in data:
        preferred = data["preferred_channel"]
        if preferred in (None, ""):
            change.preferred_channel = ""
        elif isinstance(preferred, str) and preferred in CHANNELS:
            change.preferred_channel = preferred
        else:
            raise PreferencesInvalid("preferred_channel", "unknown_channel", "not a channel")
    if "paused_until" in data:
        until = data["paused_until"]
        if until in (None, ""):
            change.clear_pause = True
        else:
            change.paused_until = _moment(until, now)
    return change


def _mapping(value: Any, name: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PreferencesInvalid(name, "object_type", "expected an object of name: true/false")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PreferencesInvalid(name, "bool_type", "expected true or false")
    return value


def _moment(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise PreferencesInvalid(
            "paused_until", "datetime_parsing", "expected an ISO 8601 time with an offset"
        )
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise PreferencesInvalid(
            "paused_until", "datetime_parsing", "expected an ISO 8601 time with an offset"
        ) from None
    if at.tzinfo is None:
        raise PreferencesInvalid(
            "paused_until", "timezone_aware", "give a time zone offset (e.g. Z)"
        )
    if at - now > MAX_PAUSE:
        raise PreferencesInvalid("paused_until", "too_far_ahead", "at most 366 days ahead")
    return at


def _shown(name: Any) -> str:
    """A name from the request, safe to echo: printable, short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    return text[:40]


def mask(channel: str, address: Any) -> str:
    """An address as the page shows it: enough to recognise, not enough to harvest."""
    if not address:
        return ""
    if channel == "email":
        local, _, domain = str(address).partition("@")
        return f"{local[:1]}•••@{domain}"
    if channel in ("sms", "whatsapp"):
        text = str(address)
        return f"{text[:2]}{'•' * max(len(text) - 6, 3)}{text[-4:]}"
    if channel == "push":
        count = len(address) if isinstance(address, list) else 1
        return f"{count} browser" + ("s" if count != 1 else "")
    return "linked"

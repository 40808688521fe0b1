"""Checking and normalising a contact's addresses with well-kept libraries.

Email addresses with ``email-validator`` (syntax only, no DNS: no CR/LF, no display names, no
special-use domains), phone numbers with ``phonenumbers`` (a valid number, stored as E.164),
push subscriptions by hand: an https endpoint on a public host (``channels.endpoints``) and the
keys a browser makes (a 65-byte P-256 point and a 16-byte secret, base64url).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from channels.endpoints import endpoint_problem

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
#: keys.name -> decoded length (RFC 8291: an uncompressed P-256 point, a 16-byte auth secret).
PUSH_KEY_BYTES = {"p256dh": 65, "auth": 16}


class AddressInvalid(ValueError):
    """An address that cannot be used; the message names what is wrong (never a secret)."""


def normalised_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AddressInvalid(f"not a valid email address ({exc})") from None


def normalised_phone(value: str) -> str:
    """E.164 (``+4915112345678``) from any international form (``+49 151 1234-5678``)."""
    if not value.lstrip().startswith("+"):
        raise AddressInvalid("a phone number must be international, starting with + (E.164)")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise AddressInvalid("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise AddressInvalid("not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _key(keys: dict[str, Any], name: str) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or not _BASE64URL.match(value):
        raise AddressInvalid(f"keys.{name} must be base64url text")
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise AddressInvalid(f"keys.{name} is not base64url") from None
    if len(raw) != PUSH_KEY_BYTES[name]:
        raise AddressInvalid(f"keys.{name} must decode to {PUSH_KEY_BYTES[name]} bytes")
    return value


def checked_push_subscription(sub: Any, trusted: Collection[str] = ()) -> dict[str, Any]:
    """``{"endpoint", "keys": {"p256dh", "auth"}}`` as a browser's PushSubscription.toJSON()
    gives it, checked; other fields (expirationTime) are dropped."""
    keys = sub.get("keys") if isinstance(sub, dict) else None
    if not isinstance(sub, dict) or not isinstance(keys, dict):
        raise AddressInvalid(
            "a push subscription needs endpoint, keys.p256dh and keys.auth, as the "
            "browser's PushSubscription.toJSON() gives"
        )
    problem = endpoint_problem(sub.get("endpoint"), trusted)
    if problem is not None:
        raise AddressInvalid(f"endpoint: {problem}")
    return {"endpoint": sub["endpoint"], "keys": {k: _key(keys, k) for k in PUSH_KEY_BYTES}}

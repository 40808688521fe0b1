"""A contact's addresses: checked and normalised with well-kept libraries, and keyed.

Email addresses with ``email-validator`` (syntax only, no DNS: no CR/LF, no display names, no
special-use domains), phone numbers with ``phonenumbers`` (a valid number, stored as E.164),
push keys by hand (the keys a browser makes: a 65-byte P-256 point and a 16-byte secret,
base64url). The contact model (``orchestrator.engine.contacts``) applies these rules.

Whether a push endpoint may be called is the deployment's policy, not the address's shape
(trusted origins are configuration): ``endpoint_refused`` is what every contact store applies
before it keeps a subscription, and the push channel checks again, after DNS, before a send.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from channels.endpoints import endpoint_problem

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
#: keys.name -> decoded length (RFC 8291: an uncompressed P-256 point, a 16-byte auth secret).
PUSH_KEY_BYTES = {"p256dh": 65, "auth": 16}
ENDPOINT_MAX = 2000


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


def normalised_whatsapp(value: str) -> str:
    """A WhatsApp number as E.164; Twilio's ``whatsapp:+…`` form is the number too."""
    return normalised_phone(value.removeprefix("whatsapp:"))


def push_key(value: str, name: str) -> str:
    """``keys.<name>`` of a push subscription, checked: base64url of the right length."""
    if not _BASE64URL.match(value):
        raise AddressInvalid(f"keys.{name} must be base64url text")
    bare = value.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise AddressInvalid(f"keys.{name} is not base64url") from None
    if len(raw) != PUSH_KEY_BYTES[name]:
        raise AddressInvalid(f"keys.{name} must decode to {PUSH_KEY_BYTES[name]} bytes")
    return value


def push_endpoint(value: str) -> str:
    """The shape of an endpoint: an absolute http(s) URL with a host, no spaces, no user."""
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise AddressInvalid("the endpoint contains spaces or control characters")
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise AddressInvalid("the endpoint is not a valid URL") from None
    if parts.scheme not in ("https", "http"):
        raise AddressInvalid("the endpoint must be an https URL (http only for a trusted origin)")
    if not host or parts.username is not None or parts.password is not None:
        raise AddressInvalid("the endpoint needs a host (and no user name)")
    return value


def endpoint_refused(endpoints: Iterable[str], trusted: Collection[str]) -> tuple[int, str] | None:
    """The index of the first endpoint this deployment must not call (not https on a public
    host, unless its origin is ``trusted``) and why, or None."""
    for i, endpoint in enumerate(endpoints):
        problem = endpoint_problem(endpoint, trusted)
        if problem is not None:
            return i, problem
    return None


def address_key(channel: str, address: str) -> str:
    """What makes two addresses one (case and surrounding spaces do not): suppressions hold
    the address this way, so a suppressed address stays suppressed under another profile."""
    return f"{channel}:{address.strip().lower()}"


def holder_key(channel: str, contact_id: str) -> str:
    """A suppression's key when the customer has no address on the channel. Ids differing
    only in case are different customers, and the NUL, which no id or text holds, keeps it
    apart from every ``address_key``."""
    return f"{channel}:\x00{contact_id}"

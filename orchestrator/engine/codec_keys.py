"""The payload codec's keys: ``id:base64key`` entries as configured, parsed and checked.

Apart from the codec (``codec``) so the configuration checks its keys at start without
importing Temporal or the cryptography library.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CodecKeyError(ValueError):
    """A key list that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class CodecKey:
    id: str
    secret: bytes = field(repr=False)


def parse_keys(spec: Iterable[str]) -> list[CodecKey]:
    """``["id1:base64key", "id0:oldkey"]`` -> keys, the encrypting one first. Keys are 16, 24
    or 32 random bytes (AES-128/192/256), base64 (standard or URL-safe)."""
    keys: list[CodecKey] = []
    for n, item in enumerate(spec, start=1):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not _ID.fullmatch(key_id):
            raise CodecKeyError(f"key {n}: write it as id:base64key (id: letters, digits, _.-)")
        standard = encoded.strip().replace("-", "+").replace("_", "/").rstrip("=")
        try:
            secret = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"key {key_id!r} is not base64") from None
        if len(secret) not in (16, 24, 32):
            raise CodecKeyError(f"key {key_id!r} must be 16, 24 or 32 bytes, not {len(secret)}")
        if any(k.id == key_id for k in keys):
            raise CodecKeyError(f"key id {key_id!r} appears twice")
        keys.append(CodecKey(key_id, secret))
    return keys


def new_key(key_id: str) -> str:
    """A fresh ``id:base64key`` entry (AES-256) for OMNI_CODEC_KEYS."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"

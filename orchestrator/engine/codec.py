"""Payload encryption for Temporal: every payload Omni hands to Temporal (workflow inputs and
results, signals, queries, activity arguments and results, memos, summaries and, with the
failure converter below, failure messages) is sealed with AES-GCM before it leaves the process.

Keys come from configuration as ``id:base64key`` pairs. The first key encrypts; every key
decrypts, so a key can be rotated while histories written with the old one are still read.
The key id travels in the payload's metadata (``encryption-key-id``) and is bound to the
ciphertext as associated data. Shape after temporalio/samples-python ``encryption/``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from orchestrator.engine.compact import COMPACT

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12
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


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[CodecKey]) -> None:
        if not keys:
            raise CodecKeyError("the payload codec needs at least one key")
        self.key_id = keys[0].id
        self._ciphers = {k.id: AESGCM(k.secret) for k in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher, aad = self._ciphers[self.key_id], self.key_id.encode()
        out = []
        for p in payloads:
            nonce = os.urandom(_NONCE)
            sealed = cipher.encrypt(nonce, p.SerializeToString(), aad)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: aad}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding", b"") != ENCODING:
                out.append(p)  # written before the codec was turned on
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode(errors="replace")
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(
                    f"payload sealed with key {key_id!r}, not among the configured keys "
                    f"({', '.join(self._ciphers)}): keep old keys in OMNI_CODEC_KEYS"
                )
            try:
                plain = cipher.decrypt(p.data[:_NONCE], p.data[_NONCE:], key_id.encode())
            except InvalidTag:
                raise ValueError(f"payload sealed with key {key_id!r} does not verify") from None
            out.append(Payload.FromString(plain))
        return out


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """Temporal's default converter writing compact payloads (``compact.py``), sealed by
    ``codec`` when there is one. Failure messages and stack traces then travel as an encoded
    payload too (they may quote customer data)."""
    if codec is None:
        return COMPACT
    return dataclasses.replace(
        COMPACT,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def sealed(client: Client, codec: PayloadCodec | None) -> Client:
    """``client`` writing through ``codec`` (the same connection); itself if it already has
    a codec or there is none to add."""
    if codec is None or client.data_converter.payload_codec is not None:
        return client
    config = client.config()
    config["data_converter"] = data_converter(codec)
    return Client(**config)

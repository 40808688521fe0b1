"""Payload encryption for Temporal: every payload Omni hands to Temporal (workflow inputs and
results, signals, queries, activity arguments and results, memos, summaries and, with the
failure converter below, failure messages) is sealed with AES-GCM before it leaves the process.

Keys come from configuration as ``id:base64key`` pairs (``codec_keys``). The first key
encrypts; every key decrypts, so a key can be rotated while histories written with the old one
are still read. The key id travels in the payload's metadata (``encryption-key-id``) and is
bound to the ciphertext as associated data. Shape after temporalio/samples-python ``encryption/``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from orchestrator.engine.codec_keys import CodecKey, CodecKeyError
from orchestrator.engine.compact import COMPACT

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12


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

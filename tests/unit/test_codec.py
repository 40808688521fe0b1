"""The payload codec: AES-GCM, key id in the metadata, rotation, configuration errors."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from orchestrator.app.clients import payload_codec
from orchestrator.config.settings import load_settings
from orchestrator.engine.codec import KEY_ID, EncryptionCodec, data_converter
from orchestrator.engine.codec_keys import CodecKeyError, new_key, parse_keys

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "jane@example.com"}')


async def test_sealed_with_the_first_key_readable_with_any() -> None:
    old, new = new_key("k1"), new_key("k2")
    sealed_old = await EncryptionCodec(parse_keys([old])).encode([PLAIN])
    assert sealed_old[0].metadata[KEY_ID] == b"k1"
    assert b"jane" not in sealed_old[0].SerializeToString()
    rotated = EncryptionCodec(parse_keys([new, old]))
    sealed_new = await rotated.encode([PLAIN])
    assert sealed_new[0].metadata[KEY_ID] == b"k2"
    assert await rotated.decode(sealed_old + sealed_new) == [PLAIN, PLAIN]
    assert await rotated.decode([PLAIN]) == [PLAIN]  # written before the codec was on
    with pytest.raises(ValueError, match="not among the configured keys"):
        await EncryptionCodec(parse_keys([new])).decode(sealed_old)


async def test_a_tampered_or_relabelled_payload_does_not_verify() -> None:
    a, b = new_key("a"), new_key("b")
    codec = EncryptionCodec(parse_keys([a, b]))
    sealed = (await codec.encode([PLAIN]))[0]
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\0")
    with pytest.raises(ValueError, match="does not verify"):
        await codec.decode([flipped])
    # The key id is bound to the ciphertext: relabelling it does not work either.
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"b"}, data=sealed.data)
    with pytest.raises(ValueError, match="does not verify"):
        await codec.decode([relabelled])


def test_bad_keys_are_refused_without_showing_them() -> None:
    secret = "c2VjcmV0LXNob3J0"  # 12 bytes: too short for AES
    with pytest.raises(CodecKeyError) as info:
        parse_keys([f"k1:{secret}"])
    assert secret not in str(info.value) and "16, 24 or 32" in str(info.value)
    for bad in ("nokey", "bad id:AAAA", "k:***"):
        with pytest.raises(CodecKeyError):
            parse_keys([bad])
    with pytest.raises(CodecKeyError, match="twice"):
        parse_keys([new_key("k"), new_key("k")])


def test_configuration_turns_the_codec_on_and_hides_the_keys() -> None:
    keys = f"{new_key('k2')}, {new_key('k1')}"
    config = load_settings({"OMNI_CODEC_KEYS": keys, "OMNI_TRACKING_PREVIOUS": "a, b"})
    codec = payload_codec(config)
    assert codec is not None and codec.key_id == "k2"
    assert keys.split(":")[1][:20] not in repr(config)
    assert [p.get_secret_value() for p in config.tracking.previous] == ["a", "b"]  # lists
    assert payload_codec(load_settings({})) is None
    with pytest.raises(ValueError, match="OMNI_CODEC_KEYS"):
        load_settings({"OMNI_CODEC_KEYS": "k1:AAAA"})
    converter = data_converter(codec)
    assert converter.payload_codec is codec
    assert isinstance(converter.failure_converter, DefaultFailureConverterWithEncodedAttributes)

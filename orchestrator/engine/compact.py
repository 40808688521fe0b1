"""Payloads without defaults: a dataclass field still at its default is left out of the JSON.

Most of a run's history is its payloads (the input, each send request, the result), and most
fields of Omni's messages sit at their defaults (empty strings, empty lists, None). Temporal's
decoder fills a missing field with its default, so leaving them out changes no value, needs no
change to any reader, and old payloads (with every field) decode as before. Replays compare
commands, not payload bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


class CompactJSONEncoder(AdvancedJSONEncoder):
    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            # Nested dataclasses stay objects: the encoder comes back here for each of them.
            out: dict[str, Any] = {}
            for f in dataclasses.fields(o):
                value = getattr(o, f.name)
                default = _default_of(f)
                if (
                    default is dataclasses.MISSING
                    or type(value) is not type(default)
                    or value != default
                ):
                    out[f.name] = value
            return out
        return super().default(o)


class CompactPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            *(
                JSONPlainPayloadConverter(encoder=CompactJSONEncoder)
                if isinstance(c, JSONPlainPayloadConverter)
                else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


COMPACT = dataclasses.replace(
    DataConverter.default, payload_converter_class=CompactPayloadConverter
)

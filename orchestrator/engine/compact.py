"""Payloads without defaults: a dataclass field still at its default is left out of the JSON.

Most of a run's history is its payloads (the input, each send request, the result), and most
fields of Omni's messages sit at their defaults (empty strings, empty lists, None). Temporal's
decoder fills a missing field with its default, so leaving them out changes no value, needs no
change to any reader, and old payloads (with every field) decode as before. Replays compare
commands, not payload bytes.

Decoding is Temporal's own (``value_to_type``), except that each dataclass's field types are
resolved once per class: Temporal calls ``typing.get_type_hints`` for every dataclass value it
decodes, which evaluates every string annotation again (our modules use postponed
annotations) — for a run's input, a scenario with its steps, rungs and matches, that was most
of the worker's CPU per workflow task beyond the SDK's own (bench/engine.py --profile).
"""

from __future__ import annotations

import dataclasses
import typing
import weakref
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

_MISSING: Any = dataclasses.MISSING


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


#: Per dataclass: (name, default) of each field; a factory's default made once, only compared.
_DEFAULTS: weakref.WeakKeyDictionary[type, tuple[tuple[str, Any], ...]] = (
    weakref.WeakKeyDictionary()
)
#: Per dataclass: (name, resolved type, init) of each field.
_HINTS: weakref.WeakKeyDictionary[type, tuple[tuple[str, Any, bool], ...]] = (
    weakref.WeakKeyDictionary()
)


def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = tuple((f.name, _default_of(f)) for f in dataclasses.fields(cls))
        _DEFAULTS[cls] = found
    return found


def _hints(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    found = _HINTS.get(cls)
    if found is None:
        resolved = typing.get_type_hints(cls)
        found = tuple((f.name, resolved[f.name], f.init) for f in dataclasses.fields(cls))
        _HINTS[cls] = found
    return found


class CompactJSONEncoder(AdvancedJSONEncoder):
    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            # Nested dataclasses stay objects: the encoder comes back here for each of them.
            out: dict[str, Any] = {}
            for name, default in _defaults(type(o)):
                value = getattr(o, name)
                if default is _MISSING or type(value) is not type(default) or value != default:
                    out[name] = value
            return out
        return super().default(o)


class CachedDataclasses(JSONTypeConverter):
    """Temporal's dataclass decoding (``value_to_type``'s dataclass branch, step for step:
    unknown keys ignored, missing ones left to the class's defaults, ``init=False`` fields
    set after construction), with the field types resolved once per class."""

    def __init__(self) -> None:
        self._chain: list[JSONTypeConverter] = [self]

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not dataclasses.is_dataclass(hint):
            return JSONTypeConverter.Unhandled
        if not isinstance(value, dict):
            raise TypeError(f"Cannot convert to dataclass {hint}, value is {type(value)} not dict")
        init: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, field_hint, in_init in _hints(hint):
            raw = value.get(name, _MISSING)
            if raw is _MISSING:
                continue
            try:
                converted = value_to_type(field_hint, raw, self._chain)
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (init if in_init else later)[name] = converted
        obj = hint(**init)
        for name, converted in later.items():
            object.__setattr__(obj, name, converted)
        return obj


class CompactPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            *(
                JSONPlainPayloadConverter(
                    encoder=CompactJSONEncoder, custom_type_converters=[CachedDataclasses()]
                )
                if isinstance(c, JSONPlainPayloadConverter)
                else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


COMPACT = dataclasses.replace(
    DataConverter.default, payload_converter_class=CompactPayloadConverter
)

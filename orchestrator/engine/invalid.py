"""A refusal of input that names the field and the rule it breaks.

The API turns one into a 422 problem whose ``errors`` entry a client can act on: ``field``
as the client wrote it (``events[2].contact.push_subscriptions[0].endpoint``), ``rule`` a
stable snake_case name to branch on, ``message`` the sentence a person reads. The CLI and
the console print the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class FieldInvalid(ValueError):
    """``field: why``, refused by ``rule``; safe to show (it never echoes a secret)."""

    def __init__(self, field: str, rule: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.rule = rule
        self.why = why

    def within(self, prefix: str) -> FieldInvalid:
        """The same refusal, its field inside ``prefix`` (``events[2].contact``)."""
        field = f"{prefix}{'' if self.field.startswith('[') else '.'}{self.field}"
        return type(self)(field, self.rule, self.why)

    def error(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": str(self)}


class Refused(ValueError):
    """Every broken rule of one input at once (a 422 lists them all)."""

    def __init__(self, errors: list[FieldInvalid]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def pydantic_refusals(
    errors: Iterable[Mapping[str, object]], prefix: str = ""
) -> list[FieldInvalid]:
    """pydantic's errors (``ValidationError.errors()``) as refusals, each field as a client
    writes it (``push_subscriptions[0].keys.auth``) inside ``prefix``; the rule is pydantic's
    error type (``string_too_long``, ``missing``) or a custom check's (``text``, ``email``)."""
    out = []
    for error in errors:
        where = prefix
        loc = error.get("loc", ())
        for part in loc if isinstance(loc, tuple | list) else ():
            if part == "[key]":  # pydantic's mark of a mapping's key (a consent's channel)
                continue
            where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
        ctx = error.get("ctx")
        where += str(ctx.get("at", "")) if isinstance(ctx, dict) else ""  # inside attributes
        rule, why = str(error.get("type", "invalid")), str(error.get("msg", "invalid"))
        out.append(FieldInvalid(where or "body", rule, why))
    return out

"""The shape of the configuration table: a variable, the group of settings it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Var:
    """One environment variable bound to a field of one settings group."""

    env: str
    field: str
    doc: str
    default: str = ""  # shown in docs/operations.md instead of the field's default


@dataclass(frozen=True)
class Group:
    name: str
    cls: type[Any]
    doc: str
    vars: tuple[Var, ...]
    #: The variable that switches an optional group (a channel's provider) on, or several:
    #: any one of them does.
    enabled_by: str | tuple[str, ...] = ""

    @property
    def switches(self) -> tuple[str, ...]:
        return (self.enabled_by,) if isinstance(self.enabled_by, str) else self.enabled_by

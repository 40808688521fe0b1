"""One rule for ids and text wherever they enter (every API route, the contact model): what is
accepted is what the stores (SQLite and PostgreSQL alike) keep and what providers can be sent,
so a bad value is a 422 naming the field, never a 500 later or a send that fails three times.

Ids (customer, event, workflow ids; in a path or a body):

- 1 to ``max_length`` characters (128 for customers, as the store's column);
- no control character (C0, DEL, C1): they reach logs, URLs and SQL;
- no lone surrogate (U+D800 to U+DFFF alone): it has no UTF-8 form, so no store keeps it;
- not ``.`` or ``..`` (nor ``%2E%2E`` in a path, which servers decode to it): HTTP clients
  remove these segments from URLs, so ``GET /v1/contacts/..`` could never reach such a
  contact. Inside an id with slashes (``../x``, ``a/../b``) they stay allowed: encoding the
  slashes (``..%2Fx``) reaches such an id, as it must for ids already stored.

Text (event data keys and values at any depth, contact fields, reasons and sources; numbers
in that JSON must be finite):

- no lone surrogate, for the same reason; every other code point, RTL marks, combining
  characters and 4-byte emoji included, is kept and delivered byte-exact;
- no C0 control character but TAB, LF and CR: NUL is refused by PostgreSQL's JSON and text
  types, and the others (BEL, ESC, ...) are refused or dropped by SMS and messenger providers
  and mean nothing in a message. DEL and C1 characters are allowed in text (they encode).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

#: Control characters text may not hold: C0 but TAB, LF and CR.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Control characters ids may not hold: C0, DEL and C1.
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Path segments HTTP clients remove from URLs (RFC 3986, 5.2.4).
DOT_SEGMENTS = frozenset({".", ".."})

CUSTOMER_ID_MAX = 128
EVENT_ID_MAX = 200
WORKFLOW_ID_MAX = 300
#: JSON (event data, contact attributes) nested deeper than this is refused: nothing a shop
#: sends needs it, and deep nesting exhausts JSON encoders further on.
MAX_DEPTH = 32


def _code_point(match: re.Match[str]) -> str:
    return f"U+{ord(match.group()):04X} at position {match.start()}"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored and sent as text; None when it can."""
    found = _SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate ({_code_point(found)}), which has no UTF-8 form"
    found = _TEXT_CONTROL.search(value)
    if found:
        return f"contains a control character ({_code_point(found)})"
    return None


def id_problem(value: str, max_length: int = CUSTOMER_ID_MAX) -> str | None:
    """Why ``value`` is not an id (see the module docstring); None when it is one."""
    if not value:
        return "an id cannot be empty"
    if len(value) > max_length:
        return f"an id has at most {max_length} characters (this one has {len(value)})"
    found = _SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate ({_code_point(found)}), which has no UTF-8 form"
    found = _ID_CONTROL.search(value)
    if found:
        return f"contains a control character ({_code_point(found)})"
    if value in DOT_SEGMENTS:
        return "'.' and '..' are not ids: HTTP clients remove them from URLs"
    return None


def _id_check(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        problem = id_problem(value, max_length)
        if problem:
            raise PydanticCustomError("id", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


def _text_check(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("text", "{problem}", {"problem": problem})
    return value


#: A customer (contact) id, in a path or a body.
CustomerId = Annotated[str, _id_check(CUSTOMER_ID_MAX)]
EventId = Annotated[str, _id_check(EVENT_ID_MAX)]
WorkflowId = Annotated[str, _id_check(WORKFLOW_ID_MAX)]
#: Text a provider may be sent.
TEXT_RULE = AfterValidator(_text_check)
Text = Annotated[str, TEXT_RULE]


def plain_problem(value: Any, depth: int, max_depth: int) -> tuple[str, str] | None:
    """The first string in JSON ``value`` (keys included) that is not text, number that is
    not finite, or nesting past ``max_depth``: ``(where, why)``, ``where`` as a client writes
    it (``.cart.items[2].name``)."""
    if depth > max_depth:
        return "", f"nested deeper than {max_depth} levels"
    if isinstance(value, str):
        problem = text_problem(value)
        return ("", problem) if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON reads NaN and Infinity; JSON has no such numbers, so PostgreSQL refuses
        # them, SQLite hands back a NaN unequal to itself and no answer could carry them.
        return "", "not a finite number (JSON has no NaN or Infinity)"
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            problem = text_problem(key_text)
            if problem:
                return f".{key_text.encode('utf-8', 'backslashreplace').decode()}", (
                    f"a key {problem}"
                )
            found = plain_problem(item, depth + 1, max_depth)
            if found:
                return f".{key_text}{found[0]}", found[1]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = plain_problem(item, depth + 1, max_depth)
            if found:
                return f"[{i}]{found[0]}", found[1]
    return None


def check_plain(value: Any, max_depth: int) -> Any:
    """For a pydantic validator: refuse JSON holding non-text strings, naming where."""
    found = plain_problem(value, 0, max_depth)
    if found:
        where, why = found
        raise PydanticCustomError("text", "{problem}", {"problem": why, "at": where})
    return value

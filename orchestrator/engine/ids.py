"""Run identity: one run per (scenario, customer, key), in readable, PII-free workflow ids.

``welcome_series/customer-42``, ``abandoned_cart/customer-42/cart-c-981``. A run always belongs
to exactly one customer: ``per:`` narrows the runs *within* a customer (one per cart, webinar,
product), it never shares a run between customers.

Each part of an id is written so that two different values can never give the same id:

- plain values (letters, digits, ``. _ : -``, up to 64 characters) stay as they are;
- any other character is escaped as ``~`` and the hex of its UTF-8 bytes (``a/x`` -> ``a~2Fx``,
  ``josé`` -> ``jos~C3~A9``); ``~`` itself is escaped, so escaping is reversible;
- values that look like an email address or a phone number, and values whose escaped form is
  longer than 64 characters, become ``~~`` and 32 hex characters of their SHA-256 (``~~`` never
  appears in an escaped value, so a hash cannot collide with a readable part).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from jinja2 import Undefined

from orchestrator.language.expressions import ExpressionError, evaluate
from orchestrator.language.model import Scenario

_PLAIN = re.compile(r"[A-Za-z0-9._:-]")
_EMAIL = re.compile(r"@")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,}$")
MAX_PART = 64


class RunKeyError(ValueError):
    pass


def looks_personal(value: str) -> bool:
    """An email address or a phone number: never shown in ids or search attributes."""
    if _EMAIL.search(value):
        return True
    digits = sum(c.isdigit() for c in value)
    return bool(_PHONE.match(value)) and ((value.startswith("+") and digits >= 7) or digits >= 10)


def hashed(value: str) -> str:
    return "~~" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def id_part(value: str) -> str:
    """``value`` as one injective, readable, PII-free component of a workflow id."""
    if looks_personal(value):
        return hashed(value)
    escaped = "".join(
        c if _PLAIN.match(c) else "".join(f"~{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in value
    )
    return escaped if 0 < len(escaped) <= MAX_PART else hashed(value)


def customer_ref(customer_id: str) -> str:
    """How a customer appears in workflow ids and the ``OmniCustomerId`` search attribute."""
    return id_part(customer_id)


def run_key(scenario: Scenario, customer_id: str, data: dict[str, Any]) -> str:
    """The run's identity within its scenario: the customer, then the ``per:`` value if any."""
    customer = f"customer-{customer_ref(customer_id)}"
    if scenario.trigger.per is None or scenario.trigger.per == "customer":
        return customer
    try:
        value = evaluate(scenario.trigger.per, dict(data))
    except ExpressionError as exc:
        raise RunKeyError(f"{scenario.id}: per {scenario.trigger.per!r}: {exc}") from None
    if isinstance(value, Undefined):  # str() of a strict Undefined would raise
        raise RunKeyError(f"{scenario.id}: per {scenario.trigger.per!r} is missing in the event")
    if value is None or str(value) == "":
        raise RunKeyError(f"{scenario.id}: per {scenario.trigger.per!r} is empty in the event")
    label = scenario.trigger.per.split(".")[0]
    return f"{customer}/{label}-{id_part(str(value))}"


def workflow_id(scenario_id: str, key: str) -> str:
    return f"{scenario_id}/{key}"


def chain_ref(workflow_id: str, first_run_id: str) -> str:
    """A run of ``workflow_id`` whose chain (continue-as-new) began with ``first_run_id``:
    distinct from earlier runs of the same id; the send keys' prefix and the send log's run."""
    return f"{workflow_id}/{first_run_id.replace('-', '')[:16]}"


def spread_delay(workflow_id: str, spread_s: int) -> float:
    """Where in ``[0, spread_s)`` seconds this run starts: even over run ids, and the same
    every time the run's id is routed (a relayed or repeated event asks for the same delay)."""
    digest = hashlib.blake2b(workflow_id.encode(), digest_size=8).digest()
    return round(int.from_bytes(digest, "big") / 2**64 * spread_s, 3)

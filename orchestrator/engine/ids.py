"""Readable, PII-free workflow ids.

``abandoned_cart/cart-c-981``, ``welcome_series/customer-42``.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.language.expressions import ExpressionError, evaluate
from orchestrator.language.model import Scenario

_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")


class RunKeyError(ValueError):
    pass


def run_key(scenario: Scenario, customer_id: str, data: dict[str, Any]) -> str:
    if scenario.trigger.per is None:
        return f"customer-{_clean(customer_id)}"
    try:
        value = evaluate(scenario.trigger.per, dict(data))
    except ExpressionError as exc:
        raise RunKeyError(f"{scenario.id}: per {scenario.trigger.per!r}: {exc}") from None
    if value is None or str(value) == "":
        raise RunKeyError(f"{scenario.id}: per {scenario.trigger.per!r} is empty in the event")
    label = scenario.trigger.per.split(".")[0]
    return f"{label}-{_clean(str(value))}"


def workflow_id(scenario_id: str, key: str) -> str:
    return f"{scenario_id}/{key}"


def _clean(value: str) -> str:
    return _UNSAFE.sub("_", value)[:120]

"""Checks of a ladder's ``value`` against the trigger's sample (see ``checks.Checker``)."""

from __future__ import annotations

from typing import Any

from orchestrator.language.experiment_syntax import worth
from orchestrator.language.expressions import ExpressionError, check_syntax
from orchestrator.language.model import Step

VALUE_HINT = (
    "value is a Jinja2 expression for what one reaction is worth, e.g. cart.total; "
    "check names against 'sample:'"
)


def value_problem(step: Step, context: dict[str, Any] | None) -> str:
    """Why the ladder's ``value`` cannot give an amount on the sample data ("" if it can)."""
    if not step.value:
        return ""
    try:
        check_syntax(step.value)
        if context is not None:
            worth(step.value, context)
    except ExpressionError as exc:
        return str(exc) if str(exc).startswith("value:") else f"value: {exc}"
    return ""

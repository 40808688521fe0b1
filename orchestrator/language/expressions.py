"""Conditions and time expressions in Jinja2 expression syntax (one language for marketers).

Where they are evaluated is the engine's business (``orchestrator/engine/evaluation.py``: a
local activity, or workflow code for conditions that read no contact data). Expressions run
in the same limited sandbox as templates (``EXPRESSION_LIMITS``: a shorter clock).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, meta

from orchestrator.language.durations import DurationError, parse_duration
from orchestrator.language.limits import EXPRESSION_LIMITS, Limits, spending
from orchestrator.language.sandbox import LimitedEnvironment

_ENV = LimitedEnvironment(autoescape=False)
_TIME_EXPR = re.compile(r"^(?P<expr>.+?)\s*(?P<sign>[+-])\s*(?P<dur>(?:\d+[wdhms])+)\s*$")
_WORDY = re.compile(
    r"[+-]\s*(?P<n>\d+)\s*(?P<unit>weeks?|days?|hours?|minutes?|mins?|seconds?|secs?)\b",
    re.IGNORECASE,
)


class ExpressionError(ValueError):
    """A condition or time expression that cannot be compiled or evaluated; ``lineno`` is the
    line inside the expression where Jinja found a syntax error (1 for one-line ones)."""

    lineno = 1


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        error = ExpressionError(f"invalid expression {source!r}: {exc.message}")
        error.lineno = max(1, min(exc.lineno or 1, source.count("\n") + 1))
        raise error from None


def check_syntax(source: str) -> None:
    """Raise ExpressionError if ``source`` is not a valid Jinja2 expression."""
    _compiled(source)


def evaluate(source: str, context: dict[str, Any], limits: Limits = EXPRESSION_LIMITS) -> Any:
    """Evaluate an expression; undefined names and exceeded limits raise ExpressionError."""
    try:
        with spending(limits):
            return _compiled(source)(**context)
    except ExpressionError:
        raise
    except Exception as exc:  # the sandbox raises several types; all mean "cannot evaluate"
        raise ExpressionError(f"cannot evaluate {source!r}: {exc}") from None


def holds(source: str, context: dict[str, Any], limits: Limits = EXPRESSION_LIMITS) -> bool:
    """A condition's truth; a missing name (``order.paid`` without ``paid``) is an
    ExpressionError here, not an Undefined that fails later when tested."""
    try:
        return bool(evaluate(source, context, limits))
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"cannot evaluate {source!r}: {exc}") from None


@lru_cache(maxsize=1024)
def names_in(source: str) -> frozenset[str] | None:
    """The top-level names an expression reads (``contact``, ``cart``, ``clicked``); None if
    it does not parse."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse("{{ (" + source + ") }}")))
    except TemplateSyntaxError:
        return None


def split_time_expression(source: str) -> tuple[str, int]:
    """``webinar.starts_at - 24h`` -> (``webinar.starts_at``, -86400)."""
    match = _TIME_EXPR.match(source)
    if not match:
        wordy = _WORDY.search(source)
        if wordy:
            short = f"{wordy.group('n')}{wordy.group('unit')[0].lower()}"
            raise ExpressionError(
                f"write {short} instead of {wordy.group(0)[1:].strip()!r} "
                f"(durations are written like 3d, 24h, 30m)"
            )
        return source.strip(), 0
    try:
        offset = int(parse_duration(match.group("dur")).total_seconds())
    except DurationError as exc:
        raise ExpressionError(str(exc)) from None
    return match.group("expr"), -offset if match.group("sign") == "-" else offset


def to_datetime(value: Any, name: str = "the value") -> datetime:
    """A timestamp from event data (ISO text, epoch seconds or datetime), always aware."""
    if isinstance(value, Undefined):
        raise ExpressionError(f"{name} is missing in the event")
    if value is None:
        raise ExpressionError(f"{name} is empty (null) in the event")
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ExpressionError(f"{name} is {value!r}, not an ISO 8601 timestamp") from None
    else:
        raise ExpressionError(f"{name} is {value!r}, not a timestamp")
    return result if result.tzinfo else result.replace(tzinfo=UTC)


def resolve_time(expr: str, offset_s: int, context: dict[str, Any]) -> datetime:
    return to_datetime(evaluate(expr, context), expr.strip()) + timedelta(seconds=offset_s)


def condition_context(
    *,
    event: dict[str, Any],
    trigger: dict[str, Any],
    contact: dict[str, Any],
    engagement: dict[str, bool],
) -> dict[str, Any]:
    """Names a condition can use: the event's own fields at top level (``order.cart_id``),
    ``trigger``, ``event``, ``contact`` and the run's engagement (``opened``, ``clicked``,
    ``replied``, ``engaged``)."""
    context: dict[str, Any] = dict(event)
    context.update(
        trigger=trigger,
        event=event,
        contact=contact,
        engaged=any(engagement.values()),
        **{name: engagement.get(name, False) for name in ("opened", "clicked", "replied")},
    )
    return context

"""Conditions, moments and local wall-clock times.

``evaluate_request`` is the body of the ``evaluate`` local activity: it runs in a worker thread
(a heavy condition must not stall the event loop) and its result is recorded in history.
Revision-1 runs evaluate a condition that reads no contact data in workflow code instead
(``evaluate_inline``): no local activity, no marker, no action. That is deterministic because
the inputs are the run's own state and the limits count work, not time; a change to what an
expression means is then a workflow code change (replay tests catch it).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from orchestrator.engine.compose import off_loop
from orchestrator.engine.contacts import ContactDirectory
from orchestrator.engine.messages import EvalRequest, EvalResult
from orchestrator.language.expressions import (
    ExpressionError,
    condition_context,
    holds,
    names_in,
    resolve_time,
)
from orchestrator.language.limits import EXPRESSION_LIMITS, Limits
from orchestrator.language.localtime import resolve_local


def evaluate_request(
    req: EvalRequest, context: dict[str, Any], default_timezone: str = "UTC"
) -> EvalResult:
    """``default_timezone``: the zone of a customer without one (OMNI_DEFAULT_TIMEZONE), as
    for quiet hours and rendered dates (README, "The customer's time zone")."""
    if req.kind == "local":
        contact = context["contact"]
        moment = resolve_local(
            req.clock,
            req.expression or None,
            req.days,
            context,
            contact.get("timezone") or default_timezone,
            datetime.fromisoformat(req.now),
        )
        return EvalResult(at=moment.isoformat())
    if req.kind == "time":
        return EvalResult(at=resolve_time(req.expression, req.offset_s, context).isoformat())
    return EvalResult(value=holds(req.expression, context))


#: Conditions in workflow code: no clock (a replay must decide the same), less work allowed.
INLINE_LIMITS = Limits(max_seconds=math.inf, max_iterations=10_000, max_output=100_000)


def inline_ok(expression: str) -> bool:
    """A condition the workflow may evaluate itself: it parses and reads no contact data."""
    names = names_in(expression)
    return names is not None and "contact" not in names


def evaluate_inline(
    expression: str,
    event: dict[str, Any],
    trigger: dict[str, Any],
    engagement: dict[str, bool],
) -> EvalResult:
    context = condition_context(event=event, trigger=trigger, contact={}, engagement=engagement)
    try:
        return EvalResult(value=holds(expression, context, INLINE_LIMITS))
    except ExpressionError as exc:
        return EvalResult(error=str(exc))


async def evaluate_for(
    directory: ContactDirectory, req: EvalRequest, default_timezone: str = "UTC"
) -> EvalResult:
    """The ``evaluate`` local activity: with the customer's contact data, in a worker thread
    (a heavy condition must not stall the event loop either). Local times of a customer
    without a zone are in ``default_timezone``."""
    contact = await directory.get(req.customer_id)
    context = condition_context(
        event=req.event,
        trigger=req.trigger,
        contact=contact.public() if contact else {},
        engagement=req.engagement,
    )
    try:
        return await off_loop(
            evaluate_request,
            req,
            context,
            default_timezone,
            timeout=EXPRESSION_LIMITS.max_seconds + 5,
        )
    except ExpressionError as exc:
        # Real event data may lack a field the sample had: the run records it and moves on.
        return EvalResult(error=str(exc))
    except TimeoutError:
        return EvalResult(error=f"cannot evaluate {req.expression!r}: time limit exceeded")

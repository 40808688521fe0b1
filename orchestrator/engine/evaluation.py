"""The body of the ``evaluate`` local activity: conditions, moments and local wall-clock times.

It runs in a worker thread (a heavy condition must not stall the event loop), never in workflow
code: its result is recorded in history, so a replay never re-evaluates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.engine.messages import EvalRequest, EvalResult
from orchestrator.language.expressions import holds, resolve_time
from orchestrator.language.localtime import resolve_local


def evaluate_request(req: EvalRequest, context: dict[str, Any]) -> EvalResult:
    if req.kind == "local":
        contact = context["contact"]
        moment = resolve_local(
            req.clock,
            req.expression or None,
            req.days,
            context,
            contact.get("timezone"),
            datetime.fromisoformat(req.now),
        )
        return EvalResult(at=moment.isoformat())
    if req.kind == "time":
        return EvalResult(at=resolve_time(req.expression, req.offset_s, context).isoformat())
    return EvalResult(value=holds(req.expression, context))

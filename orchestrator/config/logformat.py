"""Log lines as text or as JSON (``OMNI_LOG_FORMAT=json``), with the run's context.

A record carries its context as ``extra`` fields (``workflow_id``, ``run_id``, ``step``,
``key``…); inside an activity the workflow and run ids are added from Temporal's activity info.
Callers never put an address or a message body in a record: these fields are ids and codes.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from temporalio import activity

#: The ``extra`` fields a JSON line carries when a record has them.
CONTEXT = (
    "workflow_id",
    "run_id",
    "scenario",
    "step",
    "key",
    "channel",
    "template",
    "status",
    "reason",
    "event",
    "event_id",
    "runs",
)


def context_of(record: logging.LogRecord) -> dict[str, object]:
    found = {name: getattr(record, name) for name in CONTEXT if hasattr(record, name)}
    if activity.in_activity() and "run_id" not in found:
        info = activity.info()
        found.setdefault("workflow_id", info.workflow_id)
        found["run_id"] = info.workflow_run_id
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def use_format(fmt: str) -> None:
    """Switch the root handlers to ``fmt`` (``text`` keeps their format)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"OMNI_LOG_FORMAT={fmt!r}: use text or json")
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())

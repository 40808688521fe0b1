"""One error shape for the HTTP API: RFC 9457 ``application/problem+json``.

Every 4xx and 5xx the API answers is a problem object — ``type``, ``title``, ``status``,
``detail``, ``instance`` — and a 422 adds ``errors``: one entry per broken rule with the
field as a client writes it (``events[3].data.cart.id``), the rule (pydantic's error type or
an ``engine.invalid.FieldInvalid``'s, snake_case) and a message. Invalid
JSON names its position (line, column, character offset), not a field. The console's pages
keep their own answers. ``document`` declares each route's problems in the OpenAPI document.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeout
from starlette.exceptions import HTTPException

from orchestrator.api.validation import field_path
from orchestrator.engine import metrics
from orchestrator.engine.invalid import FieldInvalid, Refused
from orchestrator.store.db import unavailable

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
#: ``type`` of problems this API defines; other problems are ``about:blank`` (the status says
#: it all, RFC 9457 §4.2.1).
TYPES = {
    422: "urn:omni:problem:invalid-request",
    413: "urn:omni:problem:body-too-large",
    503: "urn:omni:problem:unavailable",
}


def problem_body(
    status: int, detail: str, *, instance: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPES.get(status, "about:blank"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, detail, instance=request.url.path, errors=errors)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def json_position(text: str | bytes, offset: int) -> dict[str, int]:
    """Line and column (from 1) of character ``offset`` in ``text``."""
    doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    line = doc.count("\n", 0, offset) + 1
    return {"line": line, "column": offset - (doc.rfind("\n", 0, offset) + 1) + 1, "offset": offset}


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        rule = str(error.get("type", "invalid"))
        loc = list(error.get("loc", ()))
        if rule == "json_invalid" and len(loc) == 2 and isinstance(loc[1], int):
            # The location pydantic gives is the character offset, not a field.
            where = json_position(exc.body if exc.body is not None else "", loc[1])
            why = (error.get("ctx") or {}).get("error", "not JSON")
            message = (
                f"invalid JSON at line {where['line']}, column {where['column']} "
                f"(character {where['offset']}): {why}"
            )
            errors.append({"field": "body", "rule": rule, "message": message, "position": where})
            continue
        # fields.check_plain names where inside the field: ``data.cart.items[2].name``.
        path = field_path(loc) + str((error.get("ctx") or {}).get("at", ""))
        message = f"{path}: {error.get('msg', 'invalid')}"
        errors.append({"field": path, "rule": rule, "message": message})
    return errors


def _joined(errors: list[dict[str, Any]]) -> str:
    """The problem's ``detail``: the first three messages (``errors`` has them all)."""
    return "; ".join(e["message"] for e in errors[:3]) + (" …" if len(errors) > 3 else "")


def _is_console(request: Request) -> bool:
    return request.url.path.startswith("/console")


def install_problems(app: FastAPI, *, store_deadline_seconds: float = 5.0) -> None:
    """Answer every error of ``app`` (but the console's) as a problem object. A busy store's
    503 asks the caller to retry after the store deadline (``OMNI_API_STORE_DEADLINE_SECONDS``)."""
    retry_after = str(max(1, math.ceil(store_deadline_seconds)))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_console(request):
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(FieldInvalid)
    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Exception) -> Response:
        # The engine's refusals (a contact, a preference change): each names its rule.
        found = exc.errors if isinstance(exc, Refused) else [exc]
        errors = [e.error() for e in found if isinstance(e, FieldInvalid)]
        return problem(request, 422, _joined(errors), errors=errors)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc)
        if request.url.path == "/v1/events":
            metrics.EVENTS.labels("rejected", "invalid").inc()
        return problem(request, 422, _joined(errors), errors=errors)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(SqlTimeout)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(DBAPIError)
    async def store_unavailable(request: Request, exc: Exception) -> Response:
        # Busy (a held write lock, PostgreSQL's lock_timeout) or unreachable: the caller can
        # act on a 503, not a 500. Other database errors are bugs: 500.
        if not unavailable(exc):
            logging.getLogger(__name__).error("store error", exc_info=exc)
            return await bug(request, exc)
        detail = "the store is busy or unreachable; retry shortly"
        return problem(request, 503, detail, headers={"Retry-After": retry_after})

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        # Starlette re-raises it after this answer, so it is logged with its traceback.
        return problem(request, 500, "an unexpected error; it has been logged")

"""422 answers that name the field as a client writes it: ``events[1].customer_id``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from orchestrator.engine import metrics

#: Union branch tags pydantic puts in an error's location (see models.EventsBody).
TAGS = {"event", "batch"}


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "batch", "events", 1, "customer_id")`` -> ``events[1].customer_id``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and parts[0] in TAGS:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def install_validation(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = []
        for error in exc.errors():
            # fields.check_plain names where inside the field: ``data.cart.items[2].name``.
            where = field_path(error.get("loc", ())) + (error.get("ctx") or {}).get("at", "")
            errors.append(
                {
                    "field": where,
                    "msg": f"{where}: {error.get('msg', 'invalid')}",
                    "type": error.get("type", ""),
                    "loc": list(error.get("loc", ())),
                }
            )
        if request.url.path == "/v1/events":
            metrics.EVENTS.labels("rejected", "invalid").inc()
        return JSONResponse(status_code=422, content=jsonable_encoder({"detail": errors}))

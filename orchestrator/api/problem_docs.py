"""Every problem a route can answer, declared in the OpenAPI document with an example.

What a route can answer follows from what it is: a key-protected route 401 and 429, a route
with a body 413 and 422, a route under /v1 503 (the store or Temporal busy); ``ROUTE_PROBLEMS``
adds what a route's own code raises (404, 409...). The tracking pages answer HTML."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from orchestrator.api.problems import MEDIA_TYPE, problem_body

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request's path"},
        "errors": {
            "type": "array",
            "description": "422 only: one entry per broken rule",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {"type": "string", "examples": ["events[3].data.cart.id"]},
                    "rule": {"type": "string", "examples": ["missing", "string_too_long"]},
                    "message": {"type": "string"},
                    "position": {
                        "type": "object",
                        "description": "invalid JSON: where it breaks",
                        "properties": {
                            "line": {"type": "integer"},
                            "column": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}
REF = {"$ref": "#/components/schemas/Problem"}
EXAMPLES: dict[int, tuple[str, list[dict[str, Any]] | None]] = {
    400: ("MessageSid missing", None),
    401: ("send 'Authorization: Bearer <api key>'", None),
    403: ("this API key lacks the 'read' scope", None),
    404: ("no contact '42'", None),
    409: ("run 'abandoned_cart/customer-42' already ended: converted", None),
    413: ("request body over 1048576 bytes", None),
    422: (
        "events[3].data.cart.id: Field required",
        [
            {
                "field": "events[3].data.cart.id",
                "rule": "missing",
                "message": "events[3].data.cart.id: Field required",
            }
        ],
    ),
    429: ("too many failed authentications from this client; retry later", None),
    503: ("the store is busy or unreachable; retry shortly", None),
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
#: What a route's own code raises, besides what follows from its kind.
ROUTE_PROBLEMS: dict[tuple[str, str], set[int]] = {
    ("get", "/v1/contacts/{contact_id}"): {404},
    ("delete", "/v1/contacts/{contact_id}"): {404},
    ("post", "/v1/contacts/{contact_id}/consents"): {404},
    ("post", "/v1/contacts/{contact_id}/push-subscriptions"): {404},
    ("post", "/v1/contacts/{contact_id}/telegram-link"): {404, 409},
    ("get", "/v1/runs/{workflow_id}"): {404},
    ("post", "/v1/runs/{workflow_id}/cancel"): {404, 409},
    ("get", "/v1/contacts/{contact_id}/preferences"): {404},
    ("put", "/v1/contacts/{contact_id}/preferences"): {404},
    ("get", "/v1/contacts/{contact_id}/preferences/audit"): {404},
    ("post", "/webhooks/telegram"): {403, 404, 422, 503},
    ("post", "/webhooks/twilio/status"): {403, 404, 503},
    ("post", "/webhooks/twilio/inbound"): {400, 403, 404, 503},
}
#: The customer-facing tracking pages: HTML, not problems.
HTML_PAGES = {"/t/c/{token}": {404, 410}, "/t/o/{token}": {404, 410}, "/s/{code}": {404}}
HTML_PAGES |= {"/u/{token}": {404, 410}}
#: The preference center (customer-facing pages).
HTML_PAGES |= {"/p/{token}": {404, 410}, "/p": {403, 404, 410, 415, 422}}


def problems_of(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    found = set(ROUTE_PROBLEMS.get((method, path), set()))
    if operation.get("security"):
        found |= {401, 429}
        if path.startswith("/v1/"):
            found.add(403)  # a valid key without the route's scope
    if "requestBody" in operation:
        found |= {413, 422}
    if operation.get("parameters"):
        found.add(422)
    if path.startswith("/v1/"):
        found.add(503)
    found |= {int(code) for code in operation.get("responses", {}) if code.startswith(("4", "5"))}
    return found


def response(status: int, path: str) -> dict[str, Any]:
    detail, errors = EXAMPLES.get(status, (HTTPStatus(status).phrase, None))
    example = problem_body(status, detail, instance=path.replace("{", "").replace("}", ""))
    if errors is not None:
        example["errors"] = errors
    answer: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {MEDIA_TYPE: {"schema": REF, "example": example}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def document(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document declare every problem each route can answer."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                if path in HTML_PAGES:
                    responses.pop("422", None)  # a path's text always validates
                    for status in HTML_PAGES[path]:
                        responses[str(status)] = {
                            "description": HTTPStatus(status).phrase,
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    continue
                for status in sorted(problems_of(method, path, operation)):
                    described = responses.get(str(status), {}).get("description")
                    responses[str(status)] = response(status, path)
                    if described and described != "Validation Error":
                        responses[str(status)]["description"] = described
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

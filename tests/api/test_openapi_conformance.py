"""The live API against its own OpenAPI document, with schemathesis: generated requests to
every operation on the real stack (store, Temporal, worker) answer no 5xx, and only statuses,
content types, headers and bodies the document declares (problems included)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from api_stack import Api
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: Examples per operation: a modest default run (CI time), enough to reach each 4xx.
EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def fuzz(base: str, document: dict[str, Any], key: str) -> list[str]:
    """Every operation, EXAMPLES generated cases each; the failures found."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            auth = {"Authorization": f"Bearer {key}"}
            response = case.call(base_url=base, headers=auth, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=auth)

        try:
            check()
        except Exception as exc:  # report every operation's failure, not the first only
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.timeout(600)
async def test_live_answers_conform_to_the_openapi_document(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    base = str(api.client.base_url)
    # A thread: the API serves on this event loop while schemathesis calls it.
    failures = await asyncio.to_thread(fuzz, base, document, api.key)
    assert failures == [], "\n\n".join(failures)

"""One error shape: every 4xx/5xx of the API is RFC 9457 problem+json, 422s list each broken
rule with its field, invalid JSON says where it breaks, Retry-After stays."""

from __future__ import annotations

from typing import Any

import httpx
from api_stack import Api

PROBLEM = "application/problem+json"


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["instance"] == answer.request.url.path
    assert {"type", "title", "detail"} <= set(body) and body["detail"]
    return body


async def test_auth_and_missing_things_are_problems(api: Api) -> None:
    problem(await api.client.post("/v1/events", json=api.event("p1")), 401)
    missing = problem(await api.client.get("/v1/contacts/nobody-here", headers=api.auth), 404)
    assert missing["type"] == "about:blank" and missing["title"] == "Not Found"
    problem(await api.client.get("/v1/no-such-route"), 404)


async def test_every_422_lists_field_rule_and_message(api: Api) -> None:
    bad = {"events": [api.event("p2"), {**api.event("p3"), "customer_id": ""}]}
    batch = problem(await api.client.post("/v1/events", headers=api.auth, json=bad), 422)
    assert batch["errors"] == [
        {
            "field": "events[1].customer_id",
            "rule": "id",
            "message": "events[1].customer_id: an id cannot be empty",
        }
    ]
    # The contacts route's own check: the same shape (it used to be a bare string).
    other = await api.client.put("/v1/contacts/c-1", headers=api.auth, json={"id": "c-2"})
    contact = problem(other, 422)
    assert contact["errors"][0]["field"] == "id" and contact["errors"][0]["message"]
    email = await api.client.put("/v1/contacts/c-1", headers=api.auth, json={"email": "nope"})
    assert problem(email, 422)["errors"][0]["message"]


async def test_route_refusals_name_their_rule_not_a_catch_all(api: Api) -> None:
    """The routes' and the engine's own checks name a rule a client can branch on, the field
    inside the batch as the client wrote it, and nothing is written."""
    mismatch = await api.client.put("/v1/contacts/c-1", headers=api.auth, json={"id": "c-2"})
    [error] = problem(mismatch, 422)["errors"]
    assert error == {
        "field": "id",
        "rule": "id_mismatch",
        "message": "id: the body's id differs from the URL's",
    }
    email = await api.client.put("/v1/contacts/c-1", headers=api.auth, json={"email": "nope"})
    [error] = problem(email, 422)["errors"]
    assert (error["field"], error["rule"]) == ("email", "email")
    # Inside a batch: every broken rule of the contact, each under events[i].contact.
    hostile = {"email": "a@@b", "phone": "+1 call me\r\nBcc: x", "consents": {"fax": True}}
    batch = {"events": [api.event("r1"), {**api.event("r2", customer="r-2"), "contact": hostile}]}
    answer = await api.client.post("/v1/events", headers=api.auth, json=batch)
    fields = {e["field"]: e["rule"] for e in problem(answer, 422)["errors"]}
    assert fields["events[1].contact.email"] == "email"
    assert fields["events[1].contact.phone"] == "phone"
    assert all(f.startswith("events[1].contact.") for f in fields), fields
    assert "invalid" not in fields.values()
    # A store's refusal (a push endpoint this deployment may not call), placed in the batch.
    sub = {"endpoint": "http://push.example.com/x", "keys": {"p256dh": "a" * 87, "auth": "b" * 22}}
    pushed = {**api.event("r3", customer="r-3"), "contact": {"push_subscriptions": [sub]}}
    answer = await api.client.post("/v1/events", headers=api.auth, json={"events": [pushed]})
    [error] = problem(answer, 422)["errors"]
    assert error["field"] == "events[0].contact.push_subscriptions[0].endpoint"
    assert error["rule"] == "push_endpoint_refused" and "https" in error["message"]
    for who in ("c-1", "r-2", "r-3"):
        assert (await api.client.get(f"/v1/contacts/{who}", headers=api.auth)).status_code == 404


async def test_the_push_route_names_its_own_field(api: Api) -> None:
    """The route's body is one subscription: a refused endpoint is ``endpoint``, not a path
    inside a contact, and the contact keeps no subscription."""
    made = await api.client.put("/v1/contacts/p-1", headers=api.auth, json={"locale": "en"})
    assert made.status_code == 200, made.text
    sub = {"endpoint": "http://push.example.com/x", "keys": {"p256dh": "a" * 87, "auth": "b" * 22}}
    answer = await api.client.post(
        "/v1/contacts/p-1/push-subscriptions", headers=api.auth, json=sub
    )
    [error] = problem(answer, 422)["errors"]
    assert (error["field"], error["rule"]) == ("endpoint", "push_endpoint_refused")
    got = await api.client.get("/v1/contacts/p-1", headers=api.auth)
    assert got.json()["push_subscriptions"] == []


async def test_invalid_json_names_its_position_not_a_field(api: Api) -> None:
    text = '{"name": "cart_updated",\n "customer_id": 42,, "event_id": "x"}'
    answer = await api.client.post(
        "/v1/events",
        headers={**api.auth, "content-type": "application/json"},
        content=text.encode(),
    )
    body = problem(answer, 422)
    [error] = body["errors"]
    offset = text.index(",,") + 1
    assert error["field"] == "body" and error["rule"] == "json_invalid"
    assert error["position"] == {"line": 2, "column": offset - text.index("\n"), "offset": offset}
    assert "line 2, column" in error["message"] and "[" not in error["field"]


async def test_a_body_too_large_is_a_problem(api: Api) -> None:
    big = {**api.event("p4"), "data": {"blob": "x" * 70_000}}
    body = problem(await api.client.post("/v1/events", headers=api.auth, json=big), 413)
    assert body["detail"] == "request body over 64000 bytes"


async def test_throttled_auth_keeps_retry_after(api: Api) -> None:
    for _ in range(20):
        answer = await api.client.post(
            "/v1/events", json=api.event("p5"), headers={"Authorization": "Bearer omni_x.y"}
        )
        if answer.status_code == 429:
            break
    problem(answer, 429)
    assert int(answer.headers["retry-after"]) >= 1


async def test_the_openapi_document_declares_each_problem(api: Api) -> None:
    doc = (await api.client.get("/openapi.json")).json()
    events = doc["paths"]["/v1/events"]["post"]["responses"]
    assert {"401", "413", "422", "429", "503"} <= set(events)
    cancel = doc["paths"]["/v1/runs/{workflow_id}/cancel"]["post"]["responses"]
    assert {"401", "404", "409", "422", "429", "503"} <= set(cancel)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, declared in operation["responses"].items():
                if status.startswith(("4", "5")) and PROBLEM in declared.get("content", {}):
                    example = declared["content"][PROBLEM]["example"]
                    assert example["status"] == int(status), (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]

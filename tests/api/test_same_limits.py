"""Every route, the same limits: one rule for ids (orchestrator.engine.text) on every path and
body, and text a provider can take in event data and contact fields. A bad value is a 422
naming the field on SQLite and PostgreSQL alike, never a 500 (nor a 200 on one store only)."""

from __future__ import annotations

import json
from typing import Any

from api_stack import Api
from harness import PUSH_KEYS

#: Ids as they appear in a URL path (percent-encoded: httpx would remove a literal ``..``,
#: which is the point: such an id can never be reached).
BAD_PATH_IDS = {
    "10,240 characters": "x" * 10_240,
    "129 characters": "y" * 129,
    ".": "%2E",
    "..": "%2E%2E",
    "NUL": "a%00b",
    "ESC": "a%1Bb",
    "DEL": "a%7Fb",
}
#: Ids as they appear in a JSON body.
BAD_BODY_IDS = {
    "10,240 characters": "x" * 10_240,
    ".": ".",
    "..": "..",
    "lone surrogate": "a\ud800",
    "NUL": "a\x00b",
    "LF": "a\nb",
    "C1": "a\x85b",
}


def routes(wid_part: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    c = f"/v1/contacts/{wid_part}"
    return [
        ("PUT", c, {"first_name": "Al"}),
        ("GET", c, None),
        ("DELETE", c, None),
        ("POST", f"{c}/consents", {"channel": "email", "granted": True}),
        (
            "POST",
            f"{c}/push-subscriptions",
            {"endpoint": "https://push.example.com/x", "keys": PUSH_KEYS},
        ),
        ("POST", f"{c}/telegram-link", None),
        ("GET", f"{c}/runs", None),
        ("GET", f"/v1/runs/{wid_part}", None),
        ("POST", f"/v1/runs/{wid_part}/cancel", {"reason": "test"}),
    ]


async def send(api: Api, method: str, path: str, body: Any) -> tuple[int, Any]:
    headers = {**api.auth, "Content-Type": "application/json"}
    # json.dumps escapes lone surrogates (\ud800), as a client's JSON encoder would.
    content = json.dumps(body) if body is not None else None
    answer = await api.client.request(method, path, headers=headers, content=content)
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, answer.text


async def test_bad_ids_are_422_on_every_route(api: Api) -> None:
    wrong: list[str] = []
    for label, raw in BAD_PATH_IDS.items():
        for method, path, body in routes(raw):
            if label == "129 characters" and "/runs/" in path:
                continue  # workflow ids may be longer than customer ids
            status, answer = await send(api, method, path, body)
            if status != 422:
                wrong.append(f"{method} {path[:60]} ({label}): {status} {str(answer)[:120]}")
    # The same id in a body: events, and a contact's own id.
    for label, raw in BAD_BODY_IDS.items():
        for field in ("customer_id", "event_id"):
            event = {**api.event("bad-id"), field: raw}
            status, answer = await send(api, "POST", "/v1/events", event)
            if status != 422 or field not in str(answer):
                wrong.append(f"POST /v1/events {field} ({label}): {status} {str(answer)[:120]}")
        status, answer = await send(api, "PUT", "/v1/contacts/ok-1", {"id": raw})
        if status != 422:
            wrong.append(f"PUT /v1/contacts body id ({label}): {status} {str(answer)[:120]}")
    assert wrong == []
    # Nothing was stored on the way, and the app answers.
    assert (await api.client.get("/v1/contacts/ok-1", headers=api.auth)).status_code == 404
    assert (await api.client.get("/health")).status_code == 200


async def test_good_ids_still_pass_on_every_route(api: Api) -> None:
    for raw in ("a" * 128, "josé/ü-42", "..a", "a..", ".hidden", "%2E%2Ex"):
        status, _ = await send(api, "PUT", f"/v1/contacts/{raw}", {"first_name": "Al"})
        assert status == 200, raw
        status, _ = await send(api, "GET", f"/v1/contacts/{raw}", None)
        assert status == 200, raw


async def test_unencodable_event_data_is_422_naming_the_field(api: Api) -> None:
    cases = {
        "lone surrogate": ("\ud800", "data.cart.items[1].name"),
        "NUL": ("a\x00b", "data.cart.items[1].name"),
        "BEL": ("ding\x07", "data.cart.items[1].name"),
    }
    for label, (value, where) in cases.items():
        event = api.event(f"text-{label}")
        event["data"] = {"cart": {"id": api.cart, "items": [{"name": "ok"}, {"name": value}]}}
        status, answer = await send(api, "POST", "/v1/events", event)
        assert status == 422, (label, answer)
        (error,) = answer["errors"]  # RFC 9457 problem, one entry per broken rule
        assert error["field"] == where, (label, error)
        assert error["message"].startswith(f"{where}: contains a"), (label, error)
    # A bad key, and a contact field given with the event.
    event = api.event("text-key", data={"cart": {"\udfff": 1}})
    status, answer = await send(api, "POST", "/v1/events", event)
    assert status == 422 and answer["errors"][0]["field"].startswith("data.cart."), answer
    event = api.event("text-contact", contact={"first_name": "Al\ud83d"})
    status, answer = await send(api, "POST", "/v1/events", event)
    assert status == 422 and "first_name" in str(answer), answer


async def test_numbers_that_are_not_json_are_422_naming_the_field(api: Api) -> None:
    """Python's JSON reads NaN and Infinity; JSON has none, PostgreSQL refuses them and no
    answer could carry them: refused where they are, in event data and contact attributes."""
    for i, number in enumerate([float("nan"), float("inf"), float("-inf")]):
        event = api.event(f"nan-{i}", data={"cart": {"id": api.cart, "total": number}})
        status, answer = await send(api, "POST", "/v1/events", event)
        assert status == 422, answer
        assert answer["errors"][0]["field"] == "data.cart.total", answer
        put = {"attributes": {"score": [1, number]}}
        status, answer = await send(api, "PUT", f"/v1/contacts/nan-{i}", put)
        assert status == 422 and answer["errors"][0]["field"] == "attributes.score[1]", answer
    assert (await api.client.get("/v1/contacts/nan-0", headers=api.auth)).status_code == 404


async def test_text_a_provider_takes_is_accepted(api: Api) -> None:
    # TAB, LF, CR, DEL, RTL marks, combining characters and 4-byte emoji are text.
    text = "a\tb\nc\rd\x7f \u202eevil\u202c e\u0301 😀 \U0010fffd"
    event = api.event("text-ok", data={"cart": {"id": api.cart, "note": text}})
    status, answer = await send(api, "POST", "/v1/events", event)
    assert status == 202, answer


async def test_unencodable_contact_fields_are_422_on_put(api: Api) -> None:
    for field, value in (
        ("first_name", "Al\ud800"),
        ("last_name", "\x00"),
        ("locale", "de\x1b"),
        ("attributes", {"nick": ["x", "\udc00"]}),
    ):
        status, answer = await send(api, "PUT", "/v1/contacts/t-1", {field: value})
        assert status == 422, (field, answer)
        assert answer["errors"][0]["field"].startswith(field), answer
    status, _ = await send(
        api,
        "POST",
        "/v1/contacts/t-1/consents",
        {"channel": "email", "granted": True, "source": "\ud800"},
    )
    assert status == 422
    status, _ = await send(api, "GET", "/v1/contacts/t-1", None)
    assert status == 404

"""Any contact the API accepts round-trips through the store unchanged, on both paths that take
contact data (``PUT /v1/contacts/{id}`` and an event's ``contact``), and anything it refuses
(422, or 413 for a body too large) leaves the stored profile as it was. The API's answers are
held to the contact model: what the model takes (with push endpoints this deployment may
call) is accepted, the rest is refused; the profile read back is what ``Contact.updated``
says. Hypothesis draws the updates (tests/contact_data.py); SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any
from urllib.parse import quote

from api_stack import Api
from contact_data import SCRIPT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from orchestrator.engine.addresses import endpoint_refused
from orchestrator.engine.contacts import Contact, ContactFields, new_contact

EXAMPLES = int(os.environ.get("OMNI_FUZZ_EXAMPLES", "40"))
#: Customer ids per script: two differ only in case, one needs escaping in a URL.
IDS = ("c", "C", "c/é <b>")


def taken(api: Api, body: dict[str, Any]) -> ContactFields | None:
    """What the model and this deployment's push policy make of ``body`` (None: refused)."""
    try:
        fields = ContactFields.model_validate(body)
    except ValidationError:
        return None
    trusted = api.svc.contacts.trusted_push_origins
    if endpoint_refused((s.endpoint for s in fields.push_subscriptions), trusted):
        return None
    return fields


def sent(body: dict[str, Any]) -> bytes:
    """JSON as Python's own encoder writes it (NaN, lone surrogates as escapes), which the
    API reads: httpx would refuse to send such bodies at all."""
    return json.dumps(body).encode()


async def stored(api: Api, cid: str) -> dict[str, Any] | None:
    answer = await api.client.get(f"/v1/contacts/{quote(cid, safe='')}", headers=api.auth)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    profile: dict[str, Any] = answer.json()
    profile.pop("history")
    return profile


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=SCRIPT, paths=st.lists(st.booleans(), min_size=4, max_size=4))
async def test_what_the_api_accepts_round_trips_and_what_it_refuses_changes_nothing(
    api: Api, script: list[tuple[int, dict[str, Any]]], paths: list[bool]
) -> None:
    tag = uuid.uuid4().hex[:8]  # examples share the store: each its own customers
    headers = {**api.auth, "content-type": "application/json"}
    expected: dict[str, Contact] = {}
    for (who, body), by_event in zip(script, paths, strict=False):
        cid = f"{tag}-{IDS[who]}"
        before = expected.get(cid)
        if by_event:
            event = {
                "name": "profile_updated",  # no scenario listens: nothing but the contact
                "customer_id": cid,
                "event_id": f"{cid}-{uuid.uuid4().hex[:6]}",
                "contact": body,
            }
            answer = await api.client.post("/v1/events", headers=headers, content=sent(event))
            ok = 202
        else:
            path = f"/v1/contacts/{quote(cid, safe='')}"
            answer = await api.client.put(path, headers=headers, content=sent(body))
            ok = 200
        fields = taken(api, body)
        if fields is None:
            assert answer.status_code in (413, 422), (body, answer.text)
            assert await stored(api, cid) == (before.model_dump(mode="json") if before else None)
            continue
        assert answer.status_code == ok, (body, answer.text)
        expected[cid] = (before or new_contact(cid)).updated(fields)
        want = expected[cid].model_dump(mode="json")
        if not by_event:
            assert answer.json() == want, body
        assert await stored(api, cid) == want, body


async def test_both_paths_document_the_one_contact_model(api: Api) -> None:
    doc = (await api.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    ref = {"$ref": "#/components/schemas/ContactFields"}
    put = doc["paths"]["/v1/contacts/{contact_id}"]["put"]["requestBody"]["content"]
    assert put["application/json"]["schema"] == ref
    assert ref in schemas["EventIn"]["properties"]["contact"]["anyOf"]
    assert set(schemas["ContactFields"]["properties"]) == set(ContactFields.model_fields)
    assert schemas["ContactFields"]["additionalProperties"] is False

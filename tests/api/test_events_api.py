"""The event and contact API through a real HTTP client, database and Temporal dev server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import quote

from api_stack import Api
from harness import PUSH_KEYS
from temporalio.client import WorkflowExecutionStatus


async def status_of(api: Api, wid: str) -> WorkflowExecutionStatus | None:
    return (await api.svc.client.get_workflow_handle(wid).describe()).status


async def test_auth_is_required_and_checked(api: Api) -> None:
    none = await api.client.post("/v1/events", json=api.event("a1"))
    assert none.status_code == 401
    forged = api.key[:-4] + "AAAA"
    bad = await api.client.post(
        "/v1/events", json=api.event("a1"), headers={"Authorization": f"Bearer {forged}"}
    )
    assert bad.status_code == 401
    key_id = api.key.removeprefix("omni_").split(".")[0]
    assert await api.svc.keys.revoke(key_id)
    revoked = await api.client.post("/v1/events", json=api.event("a1"), headers=api.auth)
    assert revoked.status_code == 401
    assert (await api.client.get("/health")).status_code == 200


async def test_trigger_then_goal_routes_to_the_running_run(api: Api) -> None:
    first = await api.client.post(
        "/v1/events",
        headers=api.auth,
        json=api.event("e1", contact={"email": "a@example.com", "consents": {"email": True}}),
    )
    assert first.status_code == 202, first.text
    result = first.json()["results"][0]
    assert result == {
        "event_id": f"{api.cart}-e1",
        "status": "accepted",
        "runs": [api.wid],
        "skipped": [],
        "unknown_event": False,
        "versions": {"quick_cart": api.svc.router.scenarios["quick_cart"].version},
        "warnings": [],
    }
    contact = await api.client.get("/v1/contacts/42", headers=api.auth)
    assert contact.json()["email"] == "a@example.com"
    order = await api.client.post(
        "/v1/events",
        headers=api.auth,
        json=api.event("e2", name="order_placed", data={"order": {"cart_id": api.cart}}),
    )
    assert order.json()["results"][0]["runs"] == [api.wid]
    handle = api.svc.client.get_workflow_handle(api.wid)
    state = await asyncio.wait_for(handle.result(), timeout=10)
    assert state["outcome"] == "converted"


async def test_same_event_id_twice_does_nothing_the_second_time(api: Api) -> None:
    one = await api.client.post("/v1/events", headers=api.auth, json=api.event("dup"))
    two = await api.client.post("/v1/events", headers=api.auth, json=api.event("dup"))
    assert one.json()["results"][0]["status"] == "accepted"
    assert two.json()["results"][0] == {**one.json()["results"][0], "status": "duplicate"}
    assert two.json()["results"][0]["runs"] == [api.wid]
    history = await api.svc.client.get_workflow_handle(api.wid).fetch_history()
    signals = [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert len(signals) == 1


async def test_batch_and_unknown_events(api: Api) -> None:
    batch = {
        "events": [
            api.event("b1", customer="7"),
            api.event("b2", name="wishlist_shared", customer="7"),
        ]
    }
    done = await api.client.post("/v1/events", headers=api.auth, json=batch)
    assert done.status_code == 202
    first, second = done.json()["results"]
    assert first["runs"] == [api.wid_for("7")]
    assert second == {
        "event_id": f"{api.cart}-b2",
        "status": "accepted",
        "runs": [],
        "skipped": [],
        "unknown_event": True,
        "versions": {},
        "warnings": [],
    }


async def test_strict_mode_rejects_unknown_events(api: Api) -> None:
    api.svc.settings = api.svc.settings.model_copy(update={"strict_events": True})
    done = await api.client.post(
        "/v1/events", headers=api.auth, json=api.event("s1", name="wishlist_shared")
    )
    assert done.status_code == 422
    assert "events[0].name" in done.text and "wishlist_shared" in done.text


async def test_validation_errors_name_the_field_and_write_nothing(api: Api) -> None:
    missing = await api.client.post(
        "/v1/events", headers=api.auth, json={"name": "cart_updated", "event_id": "v1"}
    )
    assert missing.status_code == 422
    assert "customer_id" in missing.text
    batch = {
        "events": [
            api.event("v2", customer="8", contact={"email": "ok@example.com"}),
            api.event("v3", customer="8", contact={"phone": "0151-not-e164"}),
        ]
    }
    bad = await api.client.post("/v1/events", headers=api.auth, json=batch)
    assert bad.status_code == 422
    assert "events[1].contact" in bad.text and "phone" in bad.text
    assert (await api.client.get("/v1/contacts/8", headers=api.auth)).status_code == 404
    retry = await api.client.post(
        "/v1/events", headers=api.auth, json=api.event("v2", customer="8")
    )
    assert retry.json()["results"][0]["status"] == "accepted"  # v2 was never recorded


async def test_payload_size_limit(api: Api) -> None:
    big = api.event("big", data={"blob": "x" * 70_000})
    done = await api.client.post("/v1/events", headers=api.auth, json=big)
    assert done.status_code == 413


async def test_erase_removes_profile_and_cancels_runs(api: Api) -> None:
    await api.client.put(
        "/v1/contacts/99",
        headers=api.auth,
        json={"email": "gone@example.com", "consents": {"email": True}},
    )
    await api.client.post("/v1/events", headers=api.auth, json=api.event("x1", customer="99"))
    wid = api.wid_for("99")
    erased = await api.client.delete("/v1/contacts/99", headers=api.auth)
    assert erased.status_code == 204
    assert (await api.client.get("/v1/contacts/99", headers=api.auth)).status_code == 404
    for _ in range(50):
        if await status_of(api, wid) != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.1)
    assert await status_of(api, wid) == WorkflowExecutionStatus.CANCELED
    assert (await api.client.delete("/v1/contacts/99", headers=api.auth)).status_code == 404


async def test_contact_endpoints_validate(api: Api) -> None:
    bad = await api.client.put("/v1/contacts/5", headers=api.auth, json={"timezone": "Mars/Base"})
    assert bad.status_code == 422 and "timezone" in bad.text
    await api.client.put("/v1/contacts/5", headers=api.auth, json={"email": "f@example.com"})
    consent = await api.client.post(
        "/v1/contacts/5/consents", headers=api.auth, json={"channel": "email", "granted": False}
    )
    details = (await api.client.get("/v1/contacts/5", headers=api.auth)).json()["history"]
    assert details["consents"]["email"]["granted"] is False
    assert details["consents"]["email"]["source"] == "api"
    assert details["suppressions"]["email"]["reason"] == "unsubscribed"
    assert details["suppressions"]["email"]["at"]
    assert consent.json()["suppressions"] == {"email": "unsubscribed"}
    sub = await api.client.post(
        "/v1/contacts/5/push-subscriptions",
        headers=api.auth,
        json={"endpoint": "https://push.test/x", "keys": PUSH_KEYS},
    )
    assert sub.status_code == 201
    docs = await api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_every_id_that_can_be_created_can_be_read_and_erased(api: Api) -> None:
    """Ids with slashes, dots and unicode: created through an event, read and erased by URL
    (quoted as a client would), never confused with one another or with sub-resources."""
    ids = ["a/b", "../x", "a/b/consents", "josé/..", "%2F", "k?x=1#f"]
    for i, cid in enumerate(ids):
        event = api.event(
            f"id{i}", customer=cid, contact={"email": f"id{i}@example.com", "first_name": cid}
        )
        answer = await api.client.post("/v1/events", headers=api.auth, json=event)
        assert answer.status_code == 202, answer.text
    for i, cid in enumerate(ids):
        path = f"/v1/contacts/{quote(cid, safe='')}"
        got = await api.client.get(path, headers=api.auth)
        assert got.status_code == 200, (cid, got.text)
        assert got.json()["id"] == cid and got.json()["email"] == f"id{i}@example.com"
        consent = await api.client.post(
            f"{path}/consents", headers=api.auth, json={"channel": "sms", "granted": True}
        )
        assert consent.status_code == 200, (cid, consent.text)
    for cid in ids:
        path = f"/v1/contacts/{quote(cid, safe='')}"
        assert (await api.client.delete(path, headers=api.auth)).status_code == 204
        assert (await api.client.get(path, headers=api.auth)).status_code == 404


async def test_bodies_over_the_limit_are_413_however_they_are_sent(api: Api) -> None:
    big = b'{"name": "cart_updated", "customer_id": "9", "event_id": "big", "data": {"x": "'
    big += b"a" * 70_000 + b'"}}'

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 8_192):
            yield big[i : i + 8_192]

    headers = {**api.auth, "Content-Type": "application/json"}
    declared = await api.client.post("/v1/events", headers=headers, content=big)
    chunked = await api.client.post("/v1/events", headers=headers, content=chunks())
    assert declared.status_code == chunked.status_code == 413, chunked.text
    assert (await api.svc.events.get("big")) is None  # nothing written

"""No accepted event is lost: 202 means stored; an API process whose Temporal is down (or that
died after storing) leaves the event to any other process's relay; repeats never claim a
delivery that did not happen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from api_stack import Api
from pydantic import SecretStr

from orchestrator.api.app import create_app
from orchestrator.api.relay import relay_once
from orchestrator.api.serve import free_port
from orchestrator.api.services import Services, build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.dev.devserver import start_dev_server
from orchestrator.engine.messages import RunState
from orchestrator.store.events import EventLog


@asynccontextmanager
async def process_without_temporal(api: Api) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """A second API process on the same store whose Temporal frontend stopped answering."""
    gone = await start_dev_server(port=free_port())
    await gone.shutdown()
    svc = build_services(
        gone.client,
        api.svc.contacts.sessions,
        api.svc.router.scenarios,
        task_queue=api.svc.router.task_queue,
        settings=ApiSettings(relay_interval=0),
    )
    transport = httpx.ASGITransport(app=create_app(svc))
    async with httpx.AsyncClient(transport=transport, base_url="http://down.test") as client:
        yield svc, client


def carts(api: Api, n: int) -> list[dict[str, Any]]:
    """Several customers, one shared cart id, hostile names."""
    return [
        api.event(
            f"o{i}",
            customer=f"oc{i}",
            contact={
                "first_name": f"<b>O{i}</b>\r\nX-Evil: 1",
                "email": f"oc{i}@example.com",
                "consents": {"email": True},
            },
        )
        for i in range(n)
    ]


async def test_events_stored_while_temporal_is_down_reach_their_runs_later(api: Api) -> None:
    events = carts(api, 3)
    async with process_without_temporal(api) as (down, client):
        posted = await client.post("/v1/events", headers=api.auth, json={"events": events})
        assert posted.status_code == 202, posted.text
        assert [r["status"] for r in posted.json()["results"]] == ["pending"] * 3
        # The shop retries (its client timed out): pending, or a duplicate only once another
        # process's relay (the API's own, every second) really delivered it: never a false one.
        again = (await client.post("/v1/events", headers=api.auth, json=events[0])).json()
        answer = again["results"][0]
        if answer["status"] == "duplicate":
            stored = await api.svc.events.get(events[0]["event_id"])
            assert stored is not None and stored.delivered
            assert answer["runs"] == [api.wid_for("oc0")]
        else:
            assert answer == {
                "event_id": events[0]["event_id"],
                "status": "pending",
                "runs": [],
                "skipped": [],
                "unknown_event": False,
                "versions": {},
                "warnings": [],
            }
        assert await relay_once(down) == 0  # its own relay cannot reach Temporal either
        # The request gave up its lease when Temporal did not answer: no relay waits it out
        # (unless a relay round has taken it since).
        for event in events:
            lease, attempts = await lease_of(api.svc.events, event["event_id"])
            assert lease is None or attempts > 0
    # Another API process (with Temporal) picks up what this one left on its next round.
    await delivered_soon(api.svc, [e["event_id"] for e in events])
    for i, event in enumerate(events):
        wid = api.wid_for(f"oc{i}")
        handle = api.svc.client.get_workflow_handle(wid, result_type=RunState)
        state = await handle.query("state", result_type=RunState)
        assert state.customer_id == f"oc{i}"
        replay = await api.client.post("/v1/events", headers=api.auth, json=event)
        answer = replay.json()["results"][0]
        assert answer["status"] == "duplicate" and answer["runs"] == [wid]
    contact = (await api.client.get("/v1/contacts/oc1", headers=api.auth)).json()
    assert contact["email"] == "oc1@example.com"  # the stored contact fields were applied too
    assert await relay_once(api.svc) == 0  # delivered once


async def test_a_request_that_dies_after_storing_is_redriven(api: Api) -> None:
    """The state a kill -9 leaves: stored and claimed, never delivered, lease running."""
    event = carts(api, 1)[0]
    payload = {**event, "occurred_at": "", "data": event["data"]}
    stored = await api.svc.events.claim(
        event["event_id"], event["name"], event["customer_id"], [], payload
    )
    assert stored
    answer = await api.client.post("/v1/events", headers=api.auth, json=event)
    assert answer.json()["results"][0]["status"] == "pending"
    assert await relay_once(api.svc) == 0  # the dead request's lease still holds it
    await expire_leases(api.svc.events)
    assert await relay_once(api.svc) == 1
    handle = api.svc.client.get_workflow_handle(api.wid_for("oc0"), result_type=RunState)
    assert (await handle.query("state", result_type=RunState)).customer_id == "oc0"


async def test_the_api_process_relays_by_itself(api: Api) -> None:
    """Its own relay (every second) delivers what a dead process left."""
    event = carts(api, 1)[0]
    event["event_id"] = f"self-{uuid.uuid4().hex[:8]}"
    await api.svc.events.claim(event["event_id"], event["name"], event["customer_id"], [], event)
    await expire_leases(api.svc.events)
    for _ in range(50):
        stored = await api.svc.events.get(event["event_id"])
        if stored is not None and stored.delivered:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the API's relay did not deliver the stored event")
    assert stored.result["runs"] == [api.wid_for("oc0")]


async def lease_of(log: EventLog, event_id: str) -> tuple[object, int]:
    from sqlalchemy import select

    from orchestrator.store.tables import EventRow

    query = select(EventRow.lease_until, EventRow.attempts).where(EventRow.event_id == event_id)
    async with log.sessions() as s:
        lease, attempts = (await s.execute(query)).one()
    return lease, attempts


async def delivered_soon(svc: Services, event_ids: list[str], timeout: float = 5.0) -> None:
    """Delivered by a relay round (this test's or the API's own, every second), well within
    the lease (30 s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await relay_once(svc)
        stored = [await svc.events.get(e) for e in event_ids]
        if all(s is not None and s.delivered for s in stored):
            return
        assert asyncio.get_running_loop().time() < deadline, "not delivered by the relay"
        await asyncio.sleep(0.1)


async def expire_leases(log: EventLog) -> None:
    from sqlalchemy import update

    from orchestrator.store.tables import EventRow

    async with log.sessions() as s, s.begin():
        await s.execute(update(EventRow).values(lease_until=None))


async def test_replies_while_temporal_is_down_stop_the_ladder_later(api: Api) -> None:
    """Twilio and Telegram replies are stored before the webhook answers 200: with Temporal
    down the relay delivers them later; the ladder sees the reply."""
    from twilio.request_validator import RequestValidator

    token = "twilio-outbox-token"
    api.svc.settings = api.svc.settings.model_copy(
        update={
            "twilio_auth_token": SecretStr(token),
            "public_base_url": "https://omni.shop.example",
        }
    )
    phone = "+15005550019"
    start = api.event("r0", customer="rep1", contact={"phone": phone, "consents": {"sms": True}})
    assert (await api.client.post("/v1/events", headers=api.auth, json=start)).status_code == 202
    async with process_without_temporal(api) as (down, client):
        down.settings = down.settings.model_copy(
            update={
                "twilio_auth_token": SecretStr(token),
                "public_base_url": "https://omni.shop.example",
            }
        )
        form = {"From": phone, "Body": "yes please", "MessageSid": "SMoutbox1"}
        signature = RequestValidator(token).compute_signature(
            "https://omni.shop.example/webhooks/twilio/inbound", form
        )
        answer = await client.post(
            "/webhooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200  # stored: Twilio need not retry
    await delivered_soon(api.svc, ["sms:SMoutbox1"])  # no lease to wait out
    handle = api.svc.client.get_workflow_handle(api.wid_for("rep1"), result_type=RunState)
    for _ in range(40):
        state = await handle.query("state", result_type=RunState)
        if state.engagement["replied"]:
            break
        await asyncio.sleep(0.05)
    assert state.engagement["replied"]


async def test_an_unreachable_store_answers_503_with_retry_after(api: Api) -> None:
    from orchestrator.store.db import make_engine, sessions

    engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test")
    svc = build_services(
        api.svc.client,
        sessions(engine),
        api.svc.router.scenarios,
        task_queue=api.svc.router.task_queue,
        settings=ApiSettings(relay_interval=0),
    )
    transport = httpx.ASGITransport(app=create_app(svc))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://nodb.test") as client:
            for method, path, body in [
                ("POST", "/v1/events", api.event("nodb")),
                ("GET", "/v1/contacts/42", None),
            ]:
                answer = await client.request(method, path, headers=api.auth, json=body)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"] == "5"
    finally:
        await engine.dispose()


async def test_ids_with_control_characters_and_deep_data_are_422(api: Api) -> None:
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(40):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    bad = [
        {**api.event("nul"), "event_id": "e\x00vil"},
        {**api.event("crlf"), "customer_id": "42\r\nX-Evil: 1"},
        {**api.event("deep"), "data": deep},
        {**api.event("nulval"), "data": {"cart": {"id": "c\x00"}}},
    ]
    for body in bad:
        answer = await api.client.post("/v1/events", headers=api.auth, json=body)
        assert answer.status_code == 422, answer.text
    batch = {"events": [api.event("fine"), bad[0]]}
    answer = await api.client.post("/v1/events", headers=api.auth, json=batch)
    assert answer.status_code == 422
    assert await api.svc.events.get(f"{api.cart}-fine") is None  # all or nothing


async def test_repeats_add_no_run_index_rows_and_long_fields_are_422(api: Api) -> None:
    from sqlalchemy import func, select

    from orchestrator.store.tables import RunRow

    async def rows() -> int:
        async with api.svc.events.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(RunRow)) or 0)

    event = api.event("idx", customer="ix1")
    assert (await api.client.post("/v1/events", headers=api.auth, json=event)).status_code == 202
    before = await rows()
    async with api.svc.events.sessions() as s, s.begin():
        await s.execute(RunRow.__table__.delete())  # type: ignore[attr-defined]
    again = await api.client.post("/v1/events", headers=api.auth, json=event)
    assert again.json()["results"][0]["status"] == "duplicate"
    assert before >= 1 and await rows() == 0  # the repeat planned nothing
    long_name = api.event("long", customer="ix2", contact={"first_name": "x" * 10_000})
    answer = await api.client.post("/v1/events", headers=api.auth, json=long_name)
    assert answer.status_code == 422 and "contact.first_name" in answer.text
    assert await api.svc.events.get(str(long_name["event_id"])) is None

"""Twilio webhooks: signatures, STOP/START/HELP, replies as reactions, delivery callbacks."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
from api_stack import Api
from twilio.request_validator import RequestValidator

from orchestrator.engine.sendlog import SendRecord

TOKEN = "twilio-test-token"


@pytest.fixture
def twilio_api(api: Api) -> Api:
    api.svc.settings = dataclasses.replace(
        api.svc.settings, twilio_auth_token=TOKEN, public_base_url="https://omni.shop.example"
    )
    return api


async def post(api: Api, path: str, form: dict[str, str], *, sign: bool = True) -> object:
    url = f"https://omni.shop.example{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, form) if sign else "bad"
    return await api.client.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def test_unsigned_or_forged_requests_are_refused(twilio_api: Api) -> None:
    done = await post(
        twilio_api, "/webhooks/twilio/inbound", {"From": "+15005550006", "Body": "STOP"}, sign=False
    )
    assert done.status_code == 403  # type: ignore[attr-defined]


async def test_stop_start_help(twilio_api: Api) -> None:
    api = twilio_api
    await api.client.put(
        "/v1/contacts/s1",
        headers=api.auth,
        json={"phone": "+15005550006", "consents": {"sms": True}},
    )
    stop = await post(api, "/webhooks/twilio/inbound", {"From": "+15005550006", "Body": " stop "})
    assert stop.status_code == 200  # type: ignore[attr-defined]
    contact = (await api.client.get("/v1/contacts/s1", headers=api.auth)).json()
    assert contact["suppressions"] == {"sms": "stop"}
    help_ = await post(api, "/webhooks/twilio/inbound", {"From": "+15005550006", "Body": "HELP"})
    assert "Reply STOP" in help_.text  # type: ignore[attr-defined]
    await post(api, "/webhooks/twilio/inbound", {"From": "+15005550006", "Body": "START"})
    contact = (await api.client.get("/v1/contacts/s1", headers=api.auth)).json()
    assert contact["suppressions"] == {}


async def test_reply_is_a_reaction_for_the_customers_runs(twilio_api: Api) -> None:
    api = twilio_api
    await api.client.post(
        "/v1/events",
        headers=api.auth,
        json=api.event(
            "r1", customer="s2", contact={"phone": "+15005550009", "consents": {"sms": True}}
        ),
    )
    await post(
        api,
        "/webhooks/twilio/inbound",
        {"From": "+15005550009", "Body": "is it still available?", "MessageSid": "SM1"},
    )
    handle = api.svc.client.get_workflow_handle(api.wid_for("s2"))
    for _ in range(50):
        state = await handle.query("state")
        if state["engagement"]["replied"]:
            break
        await asyncio.sleep(0.05)
    assert state["engagement"]["replied"] is True


async def test_status_callback_updates_the_send_log(twilio_api: Api) -> None:
    api = twilio_api
    await api.client.put("/v1/contacts/s3", headers=api.auth, json={"phone": "+15005550010"})
    now = datetime.now(UTC)
    for key, sid in (("k-ok", "SMok"), ("k-stop", "SMstop")):
        await api.svc.send_log.record(
            SendRecord(
                key=key,
                customer_id="s3",
                scenario="x",
                step="steps.1",
                channel="sms",
                template="t/x",
                status="sent",
                at=now,
                provider_id=sid,
            )
        )
    await post(api, "/webhooks/twilio/status", {"MessageSid": "SMok", "MessageStatus": "delivered"})
    await post(
        api,
        "/webhooks/twilio/status",
        {"MessageSid": "SMstop", "MessageStatus": "undelivered", "ErrorCode": "21610"},
    )
    failed = await api.svc.send_log.get("k-stop")
    assert failed is not None and failed.status == "failed" and "21610" in failed.reason
    contact = (await api.client.get("/v1/contacts/s3", headers=api.auth)).json()
    assert contact["suppressions"] == {"sms": "stop"}

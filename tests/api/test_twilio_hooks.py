"""Twilio webhooks: signatures, STOP/START/HELP, replies as reactions, delivery callbacks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from api_stack import Api
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from orchestrator.engine.sendlog import SendRecord

TOKEN = "twilio-test-token"


@pytest.fixture
def twilio_api(api: Api) -> Api:
    api.svc.settings = api.svc.settings.model_copy(
        update={
            "twilio_auth_token": SecretStr(TOKEN),
            "public_base_url": "https://omni.shop.example",
        }
    )
    return api


async def post(api: Api, path: str, form: dict[str, str], *, sign: bool = True) -> object:
    url = f"https://omni.shop.example{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, form) if sign else "bad"
    return await api.client.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def test_unsigned_or_forged_requests_are_refused(twilio_api: Api) -> None:
    form = {"From": "+15005550006", "Body": "STOP", "MessageSid": "SMforged"}
    done = await post(twilio_api, "/webhooks/twilio/inbound", form, sign=False)
    assert done.status_code == 403  # type: ignore[attr-defined]


async def inbound(api: Api, sid: str, body: str, phone: str = "+15005550006") -> object:
    form = {"From": phone, "Body": body, "MessageSid": sid}
    return await post(api, "/webhooks/twilio/inbound", form)


async def suppressions(api: Api, contact: str) -> dict[str, str]:
    found = (await api.client.get(f"/v1/contacts/{contact}", headers=api.auth)).json()
    return found["suppressions"]  # type: ignore[no-any-return]


async def test_stop_start_help(twilio_api: Api) -> None:
    api = twilio_api
    await api.client.put(
        "/v1/contacts/s1",
        headers=api.auth,
        json={"phone": "+15005550006", "consents": {"sms": True}},
    )
    stop = await inbound(api, "SMs1stop", " stop ")
    assert stop.status_code == 200  # type: ignore[attr-defined]
    assert await suppressions(api, "s1") == {"sms": "stop"}
    help_ = await inbound(api, "SMs1help", "HELP")
    assert "Reply STOP" in help_.text  # type: ignore[attr-defined]
    await inbound(api, "SMs1start", "START")
    assert await suppressions(api, "s1") == {}


async def test_a_replayed_start_after_a_later_stop_changes_nothing(twilio_api: Api) -> None:
    api = twilio_api
    phone = "+15005550011"
    await api.client.put(
        "/v1/contacts/s5", headers=api.auth, json={"phone": phone, "consents": {"sms": True}}
    )
    await inbound(api, "SMs5a", "STOP", phone)
    start = await inbound(api, "SMs5b", "START", phone)
    assert "receive messages again" in start.text  # type: ignore[attr-defined]
    assert await suppressions(api, "s5") == {}
    await inbound(api, "SMs5c", "STOP", phone)
    replayed = await inbound(api, "SMs5b", "START", phone)  # validly signed, recorded earlier
    assert replayed.status_code == 200  # type: ignore[attr-defined]
    assert "receive messages again" not in replayed.text  # type: ignore[attr-defined]
    assert await suppressions(api, "s5") == {"sms": "stop"}
    # ... and the other way round: a replayed STOP does not undo a later START.
    await inbound(api, "SMs5d", "START", phone)
    await inbound(api, "SMs5c", "STOP", phone)
    assert await suppressions(api, "s5") == {}


async def test_inbound_without_message_sid_is_refused(twilio_api: Api) -> None:
    form = {"From": "+15005550006", "Body": "START"}
    refused = await post(twilio_api, "/webhooks/twilio/inbound", form)
    assert refused.status_code == 400  # type: ignore[attr-defined]


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


async def test_whatsapp_messages_open_the_window_and_stop_whatsapp_only(twilio_api: Api) -> None:
    """From=whatsapp:+… is a WhatsApp message: recorded for the 24-hour window (the number's
    hash and the time), a reply for the customer's runs, and STOP/START act on WhatsApp only."""
    api = twilio_api
    number = "+15005550012"
    await api.client.put(
        "/v1/contacts/w1",
        headers=api.auth,
        json={"phone": number, "whatsapp": number, "consents": {"sms": True, "whatsapp": True}},
    )
    assert await api.svc.inbound.last_received("whatsapp", number) is None
    before = datetime.now(UTC)
    await inbound(api, "SMw1a", "hello?", f"whatsapp:{number}")
    last = await api.svc.inbound.last_received("whatsapp", number)
    assert last is not None and before - timedelta(seconds=1) <= last <= datetime.now(UTC)
    assert await api.svc.inbound.last_received("sms", number) is None
    event = await api.svc.events.get("whatsapp:SMw1a")  # the reply, stored for the runs
    assert event is not None and event.payload is not None
    assert (event.payload["name"], event.payload["data"]) == (
        "message_replied",
        {"channel": "whatsapp"},
    )
    await inbound(api, "SMw1b", "STOP", f"whatsapp:{number}")
    assert await suppressions(api, "w1") == {"whatsapp": "stop"}
    await inbound(api, "SMw1c", "START", f"whatsapp:{number}")
    assert await suppressions(api, "w1") == {}
    await inbound(api, "SMw1d", "STOP", number)  # SMS
    assert await suppressions(api, "w1") == {"sms": "stop"}


async def test_an_unknown_whatsapp_number_still_dates_its_window(twilio_api: Api) -> None:
    await inbound(twilio_api, "SMw2a", "hi", "whatsapp:+15005550013")
    assert await twilio_api.svc.inbound.last_received("whatsapp", "+15005550013") is not None


async def test_a_whatsapp_delivery_failure_suppresses_whatsapp(twilio_api: Api) -> None:
    api = twilio_api
    await api.client.put("/v1/contacts/w3", headers=api.auth, json={"whatsapp": "+15005550014"})
    await api.svc.send_log.record(
        SendRecord(
            key="k-wa",
            customer_id="w3",
            scenario="x",
            step="steps.1",
            channel="whatsapp",
            template="t/x",
            status="sent",
            at=datetime.now(UTC),
            provider_id="SMwa",
        )
    )
    await post(
        api,
        "/webhooks/twilio/status",
        {"MessageSid": "SMwa", "MessageStatus": "failed", "ErrorCode": "21610"},
    )
    assert await suppressions(api, "w3") == {"whatsapp": "stop"}

"""Bad contact data is refused at the door (422 naming the field, nothing stored): emails by
email-validator, phones by phonenumbers (stored as E.164), push subscriptions by endpoint (https
on a public host) and key lengths — on every API path that takes contact data."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from api_stack import Api
from harness import PUSH_KEYS

from orchestrator.engine.contacts import Contact, ContactInvalid

BAD_EMAILS = [
    "alex@example.com\r\nBcc: victim@example.com",
    "alex@example.com\n",
    "Alex <alex@example.com>",
    "alex@example.com, jane@example.com",
    "@example.com",
    "alex@localhost",
    "alex@[127.0.0.1]",
    "a" * 300 + "@example.com",
    "<script>@example.com",
]
BAD_PHONES = [
    "0151 1234567",
    "+1555",
    "+15551234567",
    "+999123456789",
    "+1500555\r\n0006",
    "call me",
]
BAD_ENDPOINTS = [
    "http://fcm.googleapis.com/fcm/send/x",
    "https://127.0.0.1/push",
    "https://localhost:8443/push",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/push",
    "https://[::ffff:127.0.0.1]/push",
    "https://[fd00:ec2::254]/push",
    "https://[fe80::1]/push",
    "https://10.1.2.3/push",
    "https://192.168.0.10/push",
    "https://2130706433/push",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://intranet/push",
    "javascript:alert(1)",
]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


BAD_KEYS = [
    {"p256dh": "p", "auth": "a"},
    {"p256dh": b64(b"\x04" + bytes(63)), "auth": PUSH_KEYS["auth"]},  # 64 bytes
    {"p256dh": PUSH_KEYS["p256dh"], "auth": b64(bytes(15))},
    {"p256dh": PUSH_KEYS["p256dh"] + "!", "auth": PUSH_KEYS["auth"]},
    {"p256dh": PUSH_KEYS["p256dh"]},
]
GOOD_SUB = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc:APA91b", "keys": PUSH_KEYS}


def test_valid_addresses_are_normalised() -> None:
    contact = Contact.from_json(
        {
            "id": "n1",
            "email": "Zoë.Ünïcødé@EXAMPLE.com",
            "phone": "+49 151 1234-5678",
            "push_subscriptions": [{**GOOD_SUB, "expirationTime": None}],
        }
    )
    assert contact.email == "Zoë.Ünïcødé@example.com"
    assert contact.phone == "+4915112345678"
    assert contact.push_subscriptions == [GOOD_SUB]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(ContactInvalid, match="'email'"):
        Contact.from_json({"id": "x", "email": email})


@pytest.mark.parametrize("phone", BAD_PHONES)
def test_bad_phones_are_refused(phone: str) -> None:
    with pytest.raises(ContactInvalid, match="'phone'"):
        Contact.from_json({"id": "x", "phone": phone})


@pytest.mark.parametrize("endpoint", BAD_ENDPOINTS)
def test_private_and_non_https_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ContactInvalid, match="endpoint"):
        Contact.from_json({"id": "x", "push_subscriptions": [{**GOOD_SUB, "endpoint": endpoint}]})


@pytest.mark.parametrize("keys", BAD_KEYS)
def test_push_keys_must_decode_to_65_and_16_bytes(keys: dict[str, str]) -> None:
    with pytest.raises(ContactInvalid, match="keys"):
        Contact.from_json({"id": "x", "push_subscriptions": [{**GOOD_SUB, "keys": keys}]})


def test_a_trusted_origin_may_be_private() -> None:
    sub = {**GOOD_SUB, "endpoint": "http://127.0.0.1:8089/push/d1"}
    with pytest.raises(ContactInvalid):
        Contact.from_json({"id": "x", "push_subscriptions": [sub]})
    trusted = ("http://127.0.0.1:8089",)
    contact = Contact.from_json(
        {"id": "x", "push_subscriptions": [sub]}, trusted_push_origins=trusted
    )
    assert contact.push_subscriptions == [sub]


async def test_every_api_path_refuses_bad_contact_data(api: Api) -> None:
    customers = [f"v-{i}" for i in range(3)]
    for cid in customers:
        ok = await api.client.put(
            f"/v1/contacts/{cid}",
            headers=api.auth,
            json={"email": "Alex@Example.COM", "phone": "+1 500 555 0006", "first_name": "<b>&"},
        )
        assert ok.status_code == 200, ok.text
        assert (ok.json()["email"], ok.json()["phone"]) == ("Alex@example.com", "+15005550006")
    bodies: list[dict[str, Any]] = [{"email": e} for e in BAD_EMAILS[:4]]
    bodies += [{"phone": p} for p in BAD_PHONES[:3]]
    bodies += [{"push_subscriptions": [{**GOOD_SUB, "endpoint": e}]} for e in BAD_ENDPOINTS]
    bodies += [{"push_subscriptions": [{**GOOD_SUB, "keys": k}]} for k in BAD_KEYS]
    for i, body in enumerate(bodies):
        cid = customers[i % len(customers)]
        put = await api.client.put(f"/v1/contacts/{cid}", headers=api.auth, json=body)
        assert put.status_code == 422, (body, put.text)
        event = await api.client.post(
            "/v1/events",
            headers=api.auth,
            json={
                "name": "cart_updated",
                "customer_id": cid,
                "event_id": f"bad-{i}",
                "data": {"cart": {"id": "c-1", "total": 1}},
                "contact": body,
            },
        )
        assert event.status_code == 422 and "events[0].contact" in event.text, event.text
        if "push_subscriptions" in body:
            added = await api.client.post(
                f"/v1/contacts/{cid}/push-subscriptions",
                headers=api.auth,
                json=body["push_subscriptions"][0],
            )
            assert added.status_code == 422, (body, added.text)
    for cid in customers:  # nothing bad was stored
        got = (await api.client.get(f"/v1/contacts/{cid}", headers=api.auth)).json()
        assert (got["email"], got["phone"], got["push_subscriptions"]) == (
            "Alex@example.com",
            "+15005550006",
            [],
        )
    added = await api.client.post(
        f"/v1/contacts/{customers[0]}/push-subscriptions", headers=api.auth, json=GOOD_SUB
    )
    assert added.status_code == 201


@pytest.mark.parametrize("number", [*BAD_PHONES, "whatsapp:0151 1234567", "whatsapp:"])
def test_bad_whatsapp_numbers_are_refused(number: str) -> None:
    with pytest.raises(ContactInvalid, match="'whatsapp'"):
        Contact.from_json({"id": "x", "whatsapp": number})


async def test_the_whatsapp_number_is_its_own_field(api: Api) -> None:
    """E.164 like the phone (Twilio's whatsapp:+… form accepted), 422 when bad on every path,
    and never filled from the SMS phone."""
    put = await api.client.put(
        "/v1/contacts/w-1",
        headers=api.auth,
        json={"phone": "+1 500 555 0006", "whatsapp": "whatsapp:+49 151 1234-5678"},
    )
    assert put.status_code == 200, put.text
    assert (put.json()["phone"], put.json()["whatsapp"]) == ("+15005550006", "+4915112345678")
    only_phone = await api.client.put(
        "/v1/contacts/w-2", headers=api.auth, json={"phone": "+15005550006"}
    )
    assert only_phone.json()["whatsapp"] is None
    for i, number in enumerate(["+1555", "0151 1234567", "+1500555\r\n0006", "x" * 40]):
        bad = await api.client.put("/v1/contacts/w-1", headers=api.auth, json={"whatsapp": number})
        assert bad.status_code == 422 and "whatsapp" in bad.text, bad.text
        event = await api.client.post(
            "/v1/events",
            headers=api.auth,
            json={
                "name": "cart_updated",
                "customer_id": "w-1",
                "event_id": f"wa-bad-{i}",
                "data": {"cart": {"id": "c-1", "total": 1}},
                "contact": {"whatsapp": number},
            },
        )
        assert event.status_code == 422 and "events[0].contact" in event.text, event.text
    consent = await api.client.post(
        "/v1/contacts/w-1/consents",
        headers=api.auth,
        json={"channel": "whatsapp", "granted": True},
    )
    assert consent.status_code == 200 and consent.json()["consents"] == {"whatsapp": True}
    got = (await api.client.get("/v1/contacts/w-1", headers=api.auth)).json()
    assert got["whatsapp"] == "+4915112345678"

"""Bad contact data is refused at the door (422 naming the field, nothing stored): emails by
email-validator, phones by phonenumbers (stored as E.164), push subscriptions by endpoint (https
on a public host, the stores' policy) and key lengths (the model) — on every API path that
takes contact data."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from api_stack import Api
from harness import PUSH_KEYS
from pydantic import ValidationError

from orchestrator.engine.contacts import Contact, ContactFields, ContactInvalid, InMemoryDirectory

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


def refused(data: dict[str, object]) -> list[str]:
    """The fields the contact model names for ``data``."""
    with pytest.raises(ValidationError) as info:
        ContactFields.model_validate(data)
    return [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]


def test_valid_addresses_are_normalised() -> None:
    contact = Contact.model_validate(
        {
            "id": "n1",
            "email": "Zoë.Ünïcødé@EXAMPLE.com",
            "phone": "+49 151 1234-5678",
            "push_subscriptions": [{**GOOD_SUB, "expirationTime": None}],
        }
    )
    assert contact.email == "Zoë.Ünïcødé@example.com"
    assert contact.phone == "+4915112345678"
    assert contact.address("push") == [GOOD_SUB]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_bad_emails_are_refused(email: str) -> None:
    assert refused({"email": email}) == ["email"]


@pytest.mark.parametrize("phone", BAD_PHONES)
def test_bad_phones_are_refused(phone: str) -> None:
    assert refused({"phone": phone}) == ["phone"]


@pytest.mark.parametrize("endpoint", BAD_ENDPOINTS)
async def test_private_and_non_https_endpoints_are_refused(endpoint: str) -> None:
    """Not a URL: the model refuses it. Not https on a public host: every store does, before
    it writes anything (trusted origins are the deployment's)."""
    directory = InMemoryDirectory()
    with pytest.raises(
        (ValidationError, ContactInvalid), match=r"push_subscriptions.0.\.?endpoint"
    ):
        sub = {**GOOD_SUB, "endpoint": endpoint}
        fields = ContactFields.model_validate({"push_subscriptions": [sub]})
        await directory.upsert("x", fields, source="test")
    assert await directory.get("x") is None


@pytest.mark.parametrize("keys", BAD_KEYS)
def test_push_keys_must_decode_to_65_and_16_bytes(keys: dict[str, str]) -> None:
    fields = refused({"push_subscriptions": [{**GOOD_SUB, "keys": keys}]})
    assert fields and all(f.startswith("push_subscriptions.0.keys.") for f in fields)


async def test_a_trusted_origin_may_be_private() -> None:
    sub = {**GOOD_SUB, "endpoint": "http://127.0.0.1:8089/push/d1"}
    fields = ContactFields.model_validate({"push_subscriptions": [sub]})
    with pytest.raises(ContactInvalid, match="must be an https URL"):
        await InMemoryDirectory().upsert("x", fields, source="test")
    trusted = InMemoryDirectory(trusted_push_origins=("http://127.0.0.1:8089",))
    contact = await trusted.upsert("x", fields, source="test")
    assert contact.address("push") == [sub]


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
    assert refused({"whatsapp": number}) == ["whatsapp"]


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


async def test_wrong_shapes_are_422_on_both_paths_never_500(api: Api) -> None:
    """What the hand-written check let through or tripped over (``consents: []`` raised
    AttributeError, a string ``attributes`` was stored) is refused, naming the field, the
    same way on PUT and with an event."""
    cases = {
        "consents": [],
        "attributes": "vip",
        "push_subscriptions": {"endpoint": GOOD_SUB["endpoint"]},
        "first_name": 42,
    }
    for i, (field, value) in enumerate(cases.items()):
        put = await api.client.put("/v1/contacts/s-1", headers=api.auth, json={field: value})
        assert put.status_code == 422, (field, put.text)
        assert put.json()["errors"][0]["field"].startswith(field), put.text
        event = api.event(f"shape-{i}", customer="s-1", contact={field: value})
        posted = await api.client.post("/v1/events", headers=api.auth, json=event)
        assert posted.status_code == 422, (field, posted.text)
        assert posted.json()["detail"].startswith(f"events[0].contact.{field}"), posted.text
    assert (await api.client.get("/v1/contacts/s-1", headers=api.auth)).status_code == 404

"""The preference center (GET /p/<token>, POST /p) and /v1/contacts/{id}/preferences, on
SQLite and PostgreSQL: several customers with overlapping data, hostile tokens and values."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from preference_stack import Stack, preference_stack
from temporalio.testing import WorkflowEnvironment
from tests_store_url import database_url

from orchestrator.engine.tracking import Tracker

ALEX = {
    "email": "alex@example.com",
    "phone": "+15005550006",
    "first_name": "<script>alert(1)</script>Alex",
    "locale": "en",
    "consents": {"email": True, "sms": True},
}
# Bo shares Alex's email (a household address) and has a Russian locale.
BO = {
    "email": "alex@example.com",
    "first_name": "Бо",
    "locale": "ru-RU",
    "consents": {"email": True},
}


@pytest.fixture(name="s", params=["sqlite", "postgresql"])
async def stack(
    request: pytest.FixtureRequest, dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[Stack]:
    async for url in database_url(request.param, tmp_path):
        async with preference_stack(dev_env.client, tmp_path, url) as s:
            await s.customer("alex", **ALEX)
            await s.customer("bo", **BO)
            yield s


def form_of(page: str) -> dict[str, list[str]]:
    """The values the page's form posts as it stands (checked boxes, the checked radio)."""
    out: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r"name='([^']*)'", tag)
        value = re.search(r"value='([^']*)'", tag)
        if name is None or value is None:
            continue
        kind = re.search(r"type='([^']*)'", tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        out.setdefault(name.group(1), []).append(value.group(1))
    return out


async def post(s: Stack, fields: dict[str, list[str]], **headers: str) -> tuple[int, str]:
    pairs = [(k, v) for k, vs in fields.items() for v in vs]
    done = await s.http.post(
        "/p",
        content=urlencode(pairs).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )
    return done.status_code, done.headers.get("location", "") or done.text


async def test_page_shows_masked_addresses_escaped_name_and_declared_topics(s: Stack) -> None:
    page = (await s.http.get(s.link("alex"))).text
    assert "a•••@example.com" in page and "+1••••••0006" in page
    assert "alex@example.com" not in page and "+15005550006" not in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "Cart reminders" in page and "Webinars" in page
    assert "Order updates" in page and "always sent" in page  # transactional: not switchable
    assert "name='topic' value='order_updates'" not in page
    assert "alex" not in s.link("alex")  # never the customer id in the URL


async def test_locale_picks_russian_and_never_shows_another_customers_data(s: Stack) -> None:
    page = (await s.http.get(s.link("bo"))).text
    assert "lang='ru'" in page and "Настройки сообщений" in page
    assert "Бо" in page and "Alex" not in page and "+1" not in page  # only Bo's channels


async def test_saving_writes_consents_topics_pause_and_preferred_channel(s: Stack) -> None:
    page = (await s.http.get(s.link("alex"))).text
    fields = form_of(page)
    fields["channel"] = ["email"]  # SMS off
    fields["topic"] = ["webinars"]  # cart reminders off
    fields["preferred"] = ["sms"]
    fields["pause"] = ["1w"]
    status, where = await post(s, fields, Origin=s.base)
    assert status == 303 and where.startswith("/p/") and where.endswith("?saved=1")
    contact = await s.svc.contacts.get("alex")
    assert contact is not None and contact.consents == {"email": True, "sms": False}
    history = await s.svc.contacts.history("alex")
    assert history["consents"]["sms"]["source"] == "preference_center"
    prefs = await s.prefs.preferences("alex")
    assert prefs.topics == {"cart_reminders": False} and prefs.preferred_channel == "sms"
    assert prefs.paused_until is not None
    left = prefs.paused_until - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
    # Bo shares Alex's email: nothing of Bo's changed.
    bo = await s.svc.contacts.get("bo")
    assert bo is not None and bo.consents == {"email": True} and not bo.suppressions
    assert (await s.prefs.preferences("bo")).topics == {}
    saved = (await s.http.get(where)).text
    assert "Saved." in saved and "paused until" in saved
    audit = (await s.http.get("/v1/contacts/alex/preferences/audit", headers=s.auth)).json()
    [entry] = audit["audit"]
    assert entry["actor"] == "preference_center"
    assert entry["changes"]["channels.sms"] == {"from": True, "to": False}
    assert entry["changes"]["topics.cart_reminders"] == {"from": True, "to": False}
    # The same form again changes nothing and adds no audit entry.
    fields["pause"] = ["keep"]
    await post(s, fields, Origin=s.base)
    again = (await s.http.get("/v1/contacts/alex/preferences/audit", headers=s.auth)).json()
    assert len(again["audit"]) == 1


async def test_a_form_from_another_site_changes_nothing(s: Stack) -> None:
    fields = form_of((await s.http.get(s.link("alex"))).text)
    fields["channel"] = []
    status, body = await post(s, fields, Origin="https://evil.example")
    assert status == 403 and "another site" in body
    status, _ = await post(s, fields, **{"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    contact = await s.svc.contacts.get("alex")
    assert contact is not None and contact.consents == {"email": True, "sms": True}


async def test_hostile_tokens_get_a_calm_page_never_data(s: Stack) -> None:
    good = s.link("alex").rsplit("/", 1)[1]
    head, tail = good.split(".")
    bos = s.link("bo").rsplit("/", 1)[1]
    expired = Tracker(b"p" * 32, s.base, clock=lambda: 0).preferences_url(customer_id="alex")
    other_key = Tracker(b"q" * 32, s.base).preferences_url(customer_id="alex")
    unsubscribe = s.tracker.unsubscribe_url(customer_id="alex", channel="email")
    cases = {
        f"{head}.{tail[:-2]}AA": 404,  # tampered tag
        f"{bos.split('.')[0]}.{tail}": 404,  # another customer's payload, this tag
        "x" * 5000: 404,
        "%00%0d%0a.": 404,
        expired.rsplit("/", 1)[1]: 410,
        other_key.rsplit("/", 1)[1]: 404,
        unsubscribe.rsplit("/", 1)[1]: 404,  # a token of another kind
    }
    for token, status in cases.items():
        got = await s.http.get(f"/p/{token}")
        assert got.status_code == status, token
        assert "Alex" not in got.text and "example.com" not in got.text
        assert "This link" in got.text or "nothing to show" in got.text
        posted, _ = await post(s, {"token": [token], "shown": ["email"]}, Origin=s.base)
        assert posted == status
    assert (await s.prefs.preferences("alex")).topics == {}


async def test_a_link_replayed_after_erasure_shows_nothing(s: Stack) -> None:
    link = s.link("alex")
    fields = form_of((await s.http.get(link)).text)
    assert (await s.http.delete("/v1/contacts/alex", headers=s.auth)).status_code == 204
    gone = await s.http.get(link)
    assert gone.status_code == 404 and "nothing to show" in gone.text
    assert (await post(s, fields, Origin=s.base))[0] == 404
    # A new customer under the same id later is not the one the old link was made for.
    await s.customer("alex", email="new@example.com", consents={"email": True})
    again = await s.http.get(link)
    assert again.status_code == 404 and "n•••@example.com" not in again.text


async def test_api_reads_and_changes_preferences_with_audit(s: Stack) -> None:
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    done = await s.http.put(
        "/v1/contacts/alex/preferences",
        headers=s.auth,
        json={"topics": {"webinars": False}, "preferred_channel": "email", "paused_until": until},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["topics"]["webinars"] == {"on": False, "kind": "marketing"}
    assert body["topics"]["order_updates"] == {"on": True, "kind": "transactional"}
    assert body["preferred_channel"] == "email" and body["paused_until"] is not None
    assert (
        body["channels"]["email"]["on"] is True and body["channels"]["push"]["available"] is False
    )
    audit = (await s.http.get("/v1/contacts/alex/preferences/audit", headers=s.auth)).json()
    assert audit["audit"][0]["actor"] == "api_key:crm <sync>"
    assert set(audit["audit"][0]["changes"]) == {
        "topics.webinars",
        "preferred_channel",
        "paused_until",
    }
    resumed = await s.http.put(
        "/v1/contacts/alex/preferences", headers=s.auth, json={"paused_until": None}
    )
    assert resumed.json()["paused_until"] is None
    got = await s.http.get("/v1/contacts/alex/preferences", headers=s.auth)
    assert got.json()["topics"]["webinars"]["on"] is False


@pytest.mark.parametrize(
    ("body", "says", "rule"),
    [
        ({"topics": {"order_updates": False}}, "transactional", "transactional_topic"),
        ({"topics": {"<b>x</b>": False}}, "not a topic", "unknown_topic"),
        ({"topics": {"webinars\r\nX: y": False}}, "not a topic", "unknown_topic"),
        ({"channels": {"fax": True}}, "not a channel", "unknown_channel"),
        ({"channels": {"email": "yes"}}, "channels", "bool_type"),
        ({"preferred_channel": "pigeon"}, "preferred_channel", "unknown_channel"),
        ({"paused_until": "2030-01-01T00:00:00"}, "offset", "timezone_aware"),
        ({"paused_until": "2099-01-01T00:00:00Z"}, "366 days", "too_far_ahead"),
        ({"paused_until": "soon"}, "ISO 8601", "datetime_parsing"),
        ({"colour": "blue"}, "colour", "extra_forbidden"),
    ],
)
async def test_api_refuses_bad_changes_naming_the_field(
    s: Stack, body: dict[str, object], says: str, rule: str
) -> None:
    done = await s.http.put("/v1/contacts/alex/preferences", headers=s.auth, json=body)
    assert done.status_code == 422 and says in done.text, done.text
    assert [e["rule"] for e in done.json()["errors"]] == [rule], done.text
    assert "\r\n" not in done.text
    audit = (await s.http.get("/v1/contacts/alex/preferences/audit", headers=s.auth)).json()
    assert audit["audit"] == []


async def test_api_needs_a_key_and_a_contact(s: Stack) -> None:
    assert (await s.http.get("/v1/contacts/alex/preferences")).status_code == 401
    assert (await s.http.put("/v1/contacts/alex/preferences", json={})).status_code == 401
    missing = await s.http.get("/v1/contacts/nobody/preferences", headers=s.auth)
    assert missing.status_code == 404
    put = await s.http.put(
        "/v1/contacts/nobody/preferences", headers=s.auth, json={"preferred_channel": "sms"}
    )
    assert put.status_code == 404


async def test_turning_a_channel_on_lifts_a_marketing_unsubscribe_only(s: Stack) -> None:
    await s.svc.contacts.suppress("alex", "email", "unsubscribed")
    await s.svc.contacts.set_consent("alex", "email", False, "unsubscribe link")
    await s.svc.contacts.suppress("alex", "sms", "stop")
    await s.http.put(
        "/v1/contacts/alex/preferences",
        headers=s.auth,
        json={"channels": {"email": True, "sms": True}},
    )
    contact = await s.svc.contacts.get("alex")
    assert contact is not None and contact.consents["email"] is True
    assert "email" not in contact.suppressions
    assert contact.suppressions.get("sms") == "stop"  # a STOP is lifted by START, not here

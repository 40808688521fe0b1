"""Tracking through the API: clicks, opens, unsubscribe and Telegram linking."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from api_stack import Api

from orchestrator.engine.policies import consent
from orchestrator.engine.sendlog import SendRecord
from orchestrator.engine.tracking import Tracker


async def start_run(api: Api, customer: str = "42") -> None:
    done = await api.client.post(
        "/v1/events",
        headers=api.auth,
        json=api.event(
            "t0", customer=customer, contact={"email": "a@example.com", "consents": {"email": True}}
        ),
    )
    assert done.status_code == 202


async def state(api: Api, customer: str = "42") -> dict[str, Any]:
    handle = api.svc.client.get_workflow_handle(api.wid_for(customer))
    return await handle.query("state")  # type: ignore[no-any-return]


async def wait_engaged(api: Api, kind: str, customer: str = "42") -> dict[str, Any]:
    for _ in range(40):  # reactions must reach the run within a second
        current = await state(api, customer)
        if current["engagement"][kind]:
            return current
        await asyncio.sleep(0.025)
    raise AssertionError(f"{kind} did not reach the run within a second")


async def record_send(api: Api, key: str) -> None:
    await api.svc.send_log.record(
        SendRecord(
            key=key,
            customer_id="42",
            scenario="quick_cart",
            step="steps.2.rung1",
            channel="email",
            template="quick/reminder",
            status="sent",
            at=datetime.now(UTC),
        )
    )


async def test_click_redirects_to_the_signed_url_and_reacts_once(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestrator.api.reactions")
    await start_run(api)
    await record_send(api, "k-click")
    assert api.svc.tracker is not None
    link = api.svc.tracker.link(
        run_id=api.wid, message_key="k-click", customer_id="42", channel="email"
    )("https://shop.example/cart?c=1")
    path = link.removeprefix(str(api.client.base_url))
    first = await api.client.get(path)
    assert first.status_code == 302 and first.headers["location"] == "https://shop.example/cart?c=1"
    current = await wait_engaged(api, "clicked")
    again = await api.client.get(path)  # a replay still redirects but adds no reaction
    assert again.status_code == 302
    # A barrier: the open that follows takes the same path to the run, so once it is in the
    # timeline a second click would be too.
    pixel = api.svc.tracker.pixel_url(run_id=api.wid, message_key="k-click", customer_id="42")
    assert (await api.client.get(pixel.removeprefix(str(api.client.base_url)))).status_code == 200
    for _ in range(40):
        events = [e["event"] for e in (await state(api))["timeline"] if e["kind"] == "event"]
        if "message_opened" in events:
            break
        await asyncio.sleep(0.025)
    assert "message_opened" in events, events
    assert events.count("message_clicked") == 1, current
    # omni dev's line: the reaction and its run, never the link's URL.
    assert f"reaction message_clicked · run {api.wid}" in caplog.messages
    assert "shop.example" not in caplog.text
    logged = await api.svc.send_log.get("k-click")
    assert logged is not None


async def test_tampered_and_expired_tokens_do_not_redirect(api: Api) -> None:
    assert api.svc.tracker is not None
    token = api.svc.tracker.sign(
        "click", run_id=api.wid, customer_id="42", url="https://shop.example/"
    )
    head, tail = token.split(".")
    forged = Tracker(b"x" * 32, "http://127.0.0.1").sign("click", url="https://evil.example/")
    for bad in (f"{head}.{tail[:-2]}AA", forged, "garbage"):
        answer = await api.client.get(f"/t/c/{bad}")
        assert answer.status_code == 404 and "location" not in answer.headers
    old = Tracker(b"k" * 32, "http://127.0.0.1", clock=lambda: time.time() - 100 * 86400)
    expired = await api.client.get("/t/c/" + old.sign("click", url="https://shop.example/"))
    assert expired.status_code == 410


async def test_open_pixel_marks_and_reacts(api: Api) -> None:
    await start_run(api)
    await record_send(api, "k-open")
    assert api.svc.tracker is not None
    url = api.svc.tracker.pixel_url(run_id=api.wid, message_key="k-open", customer_id="42")
    pixel = await api.client.get(url.removeprefix(str(api.client.base_url)))
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    await wait_engaged(api, "opened")


async def test_one_click_unsubscribe(api: Api) -> None:
    await api.client.put(
        "/v1/contacts/u1",
        headers=api.auth,
        json={"email": "u@example.com", "consents": {"email": True}},
    )
    assert api.svc.tracker is not None
    url = api.svc.tracker.unsubscribe_url(customer_id="u1", channel="email")
    path = url.removeprefix(str(api.client.base_url))
    human = await api.client.get(path)
    assert human.status_code == 200 and "<form method='post'>" in human.text
    assert "Hauptstr. 1" in human.text
    done = await api.client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "unsubscribed" in done.text
    contact = (await api.client.get("/v1/contacts/u1", headers=api.auth)).json()
    assert contact["suppressions"] == {"email": "unsubscribed"}
    assert contact["consents"] == {"email": False}
    assert "order confirmations" in done.text  # the page says what still comes


async def test_unsubscribe_scope_marketing_or_everything(api: Api) -> None:
    """A marketing unsubscribe leaves transactional mail; "stop every message" ends it too."""
    assert api.svc.tracker is not None
    for cid in ("m1", "m2"):
        await api.client.put(
            f"/v1/contacts/{cid}",
            headers=api.auth,
            json={"email": f"{cid}@example.com", "consents": {"email": True}},
        )
    page_path = api.svc.tracker.unsubscribe_url(customer_id="m2", channel="email")
    page_path = page_path.removeprefix(str(api.client.base_url))
    human = await api.client.get(page_path)
    assert "Stop every message by email" in human.text and "still reach you" in human.text
    for cid, body in (("m1", b"List-Unsubscribe=One-Click"), ("m2", b"scope=all")):
        url = api.svc.tracker.unsubscribe_url(customer_id=cid, channel="email")
        done = await api.client.post(
            url.removeprefix(str(api.client.base_url)),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200
    m1 = await api.svc.contacts.get("m1")
    m2 = await api.svc.contacts.get("m2")
    assert m1 is not None and m2 is not None
    assert m1.suppressions == {"email": "unsubscribed"}
    assert m2.suppressions == {"email": "unsubscribed_all"}
    for contact, transactional_ok in ((m1, True), (m2, False)):
        for category, expected in (("marketing", False), ("transactional", transactional_ok)):
            decision = consent(
                category=category,
                channel="email",
                consents=contact.consents,
                suppressions=contact.suppressions,
            )
            assert decision.allowed is expected, (contact.id, category)


async def test_telegram_deep_link_start_stop_and_reply(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestrator.api.reactions")
    await start_run(api, customer="tg1")
    link = await api.client.post("/v1/contacts/tg1/telegram-link", headers=api.auth)
    url = link.json()["url"]
    assert url.startswith("https://t.me/omni_test_bot?start=")
    token = url.split("start=")[1]
    hook = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    refused = await api.client.post(
        "/webhooks/telegram",
        json={"update_id": 1},
        headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
    )
    assert refused.status_code == 403

    def update(uid: int, chat: int, text: str) -> dict[str, Any]:
        return {
            "update_id": uid,
            "message": {"message_id": uid, "chat": {"id": chat}, "text": text},
        }

    start = await api.client.post(
        "/webhooks/telegram", headers=hook, json=update(10, 555, f"/start {token}")
    )
    assert start.json() == {"result": "linked tg1"}
    contact = (await api.client.get("/v1/contacts/tg1", headers=api.auth)).json()
    assert contact["telegram_chat_id"] == "555" and contact["consents"]["telegram"] is True
    reuse = await api.client.post(
        "/webhooks/telegram", headers=hook, json=update(11, 666, f"/start {token}")
    )
    assert reuse.json() == {"result": "refused: link already used"}
    dup = await api.client.post("/webhooks/telegram", headers=hook, json=update(10, 555, "hi"))
    assert dup.json() == {"result": "duplicate"}
    reply = await api.client.post("/webhooks/telegram", headers=hook, json=update(12, 555, "hi"))
    assert reply.json() == {"result": "reply from tg1"}
    await wait_engaged(api, "replied", customer="tg1")
    reactions = [r.getMessage() for r in caplog.records if r.name.endswith("reactions")]
    assert reactions == ["reaction message_replied by telegram · customer tg1"]
    stop = await api.client.post("/webhooks/telegram", headers=hook, json=update(13, 555, "/stop"))
    assert stop.json() == {"result": "stopped tg1"}
    contact = (await api.client.get("/v1/contacts/tg1", headers=api.auth)).json()
    assert contact["suppressions"] == {"telegram": "stop"}

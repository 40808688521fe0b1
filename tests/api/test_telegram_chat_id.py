"""A Telegram chat id arrives as the number the Bot API sends: it is kept as text."""

from __future__ import annotations

from api_stack import Api


async def test_an_integer_chat_id_is_stored_as_text(api: Api) -> None:
    put = await api.client.put(
        "/v1/contacts/tg-int", headers=api.auth, json={"telegram_chat_id": -1001234567890}
    )
    assert put.status_code == 200, put.text
    assert put.json()["telegram_chat_id"] == "-1001234567890"
    text = await api.client.put(
        "/v1/contacts/tg-str", headers=api.auth, json={"telegram_chat_id": "42"}
    )
    assert text.status_code == 200 and text.json()["telegram_chat_id"] == "42"
    flag = await api.client.put(
        "/v1/contacts/tg-bool", headers=api.auth, json={"telegram_chat_id": True}
    )
    assert flag.status_code == 422


async def test_an_integer_chat_id_in_an_events_contact(api: Api) -> None:
    event = api.event("tg1", customer="tg-event", contact={"telegram_chat_id": 987654321})
    posted = await api.client.post("/v1/events", headers=api.auth, json=event)
    assert posted.status_code == 202, posted.text
    got = await api.client.get("/v1/contacts/tg-event", headers=api.auth)
    assert got.json()["telegram_chat_id"] == "987654321"

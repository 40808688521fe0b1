"""The Telegram webhook answers odd updates (non-ASCII deep-link payloads, lone surrogates,
wrong shapes) with 200 and a reason, never a 500: Telegram would retry a 500 for a day."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_stack import Api

HOOK = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret", "Content-Type": "application/json"}


def update(uid: int, text: Any, chat: Any = 777) -> dict[str, Any]:
    return {"update_id": uid, "message": {"message_id": uid, "chat": {"id": chat}, "text": text}}


ODD: list[tuple[str, dict[str, Any]]] = [
    ("non-ascii payload", update(1, "/start " + "é" * 30)),
    ("non-ascii tag only", update(2, "/start " + "a" * 20 + "é" * 16)),
    ("lone surrogate", update(3, "/start \ud800" + "a" * 40)),
    ("emoji payload", update(4, "/start " + "😀" * 20)),
    ("NUL in payload", update(5, "/start " + "\x00" * 30)),
    ("too long payload", update(6, "/start " + "a" * 5000)),
    ("surrogate text", update(7, "\udfff hello")),
    ("surrogate chat id", update(8, "hi", chat="\ud800")),
    ("object chat id", update(9, "hi", chat={"id": 1})),
    ("message is a string", {"update_id": 10, "message": "hello"}),
    ("chat is a list", {"update_id": 11, "message": {"chat": [1], "text": "hi"}}),
    ("text is a number", update(12, 12345)),
    ("update id is a string", {"update_id": "\ud800", "message": {}}),
]


@pytest.mark.parametrize(("case", "body"), ODD, ids=[c for c, _ in ODD])
async def test_odd_updates_answer_200(api: Api, case: str, body: dict[str, Any]) -> None:
    # json.dumps escapes lone surrogates (\ud800), as a client that produced them would.
    answer = await api.client.post("/webhooks/telegram", headers=HOOK, content=json.dumps(body))
    assert answer.status_code == 200, (case, answer.text)
    assert answer.json()["result"].startswith(("ignored", "refused")), answer.json()
    # The update id was acknowledged, and the app still answers.
    again = await api.client.post("/webhooks/telegram", headers=HOOK, content=json.dumps(body))
    assert again.status_code == 200
    assert (await api.client.get("/health")).status_code == 200

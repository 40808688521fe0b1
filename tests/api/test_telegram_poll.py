"""Long polling feeds the same handler as the webhook (development mode), and survives what
would end it: an update it cannot use, the store failing, the Bot API answering errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from api_stack import Api
from peers.telegram_api import TelegramPeer
from sqlalchemy import text

from channels.settings import TelegramSettings
from channels.telegram import telegram_bot
from orchestrator.api.serve import serving
from orchestrator.api.telegram_poll import poll_updates
from orchestrator.engine import metrics


def update(uid: int, chat: int, words: str) -> dict[str, Any]:
    return {
        "update_id": uid,
        "message": {
            "message_id": uid,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "text": words,
        },
    }


async def start_token(api: Api, customer: str) -> str:
    await api.client.put(
        f"/v1/contacts/{customer}", headers=api.auth, json={"email": "p@example.com"}
    )
    link = await api.client.post(f"/v1/contacts/{customer}/telegram-link", headers=api.auth)
    return str(link.json()["url"].split("start=")[1])


@contextlib.asynccontextmanager
async def polling(api: Api, peer: TelegramPeer) -> AsyncIterator[asyncio.Task[None]]:
    async with serving(peer.app()) as base:
        bot = telegram_bot(TelegramSettings(token=peer.token, base_url=f"{base}/bot"))
        task = asyncio.create_task(poll_updates(bot, api.svc, timeout=0, idle=0.05))
        try:
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def chat_of(api: Api, customer: str, within: float = 5.0) -> str:
    contact: dict[str, Any] = {}
    for _ in range(int(within / 0.05)):
        contact = (await api.client.get(f"/v1/contacts/{customer}", headers=api.auth)).json()
        if contact["telegram_chat_id"]:
            break
        await asyncio.sleep(0.05)
    return str(contact["telegram_chat_id"] or "")


async def test_start_link_arrives_by_long_polling(api: Api) -> None:
    token = await start_token(api, "p1")
    peer = TelegramPeer()
    peer.updates.append(update(41, 4242, f"/start {token}"))
    async with polling(api, peer):
        assert await chat_of(api, "p1") == "4242"
    assert peer.violations == []


async def test_polling_outlives_odd_updates_and_a_failing_store(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    token = await start_token(api, "p2")
    peer = TelegramPeer()
    # What once ended the loop (TypeError comparing non-ASCII text), then a good link.
    peer.updates.append(update(50, 5050, "/start " + "é" * 30))
    peer.updates.append(update(51, 5050, "/start " + "😀" * 20))
    before = metrics.TELEGRAM_POLL_RESTARTS._value.get()
    sessions = api.svc.tokens.sessions
    async with sessions() as s, s.begin():  # every update now fails in the store
        await s.execute(text("ALTER TABLE token_uses RENAME TO token_uses_away"))
    restored = False
    try:
        with caplog.at_level(logging.DEBUG, logger="orchestrator.api.telegram_poll"):
            async with polling(api, peer) as task:
                # Three restarts are the signal; under load the store's failures come slower.
                while metrics.TELEGRAM_POLL_RESTARTS._value.get() - before < 3:
                    assert not task.done(), "the polling loop ended"
                    await asyncio.sleep(0.02)
                assert not task.done()
                async with sessions() as s, s.begin():
                    await s.execute(text("ALTER TABLE token_uses_away RENAME TO token_uses"))
                restored = True
                peer.updates.append(update(52, 5050, f"/start {token}"))
                assert await chat_of(api, "p2", within=10) == "5050"
                assert not task.done()
    finally:
        if not restored:
            async with sessions() as s, s.begin():
                await s.execute(text("ALTER TABLE token_uses_away RENAME TO token_uses"))
    failures = metrics.TELEGRAM_POLL_RESTARTS._value.get() - before
    assert failures >= 3
    ours = [r for r in caplog.records if r.name == "orchestrator.api.telegram_poll"]
    warned = [r for r in ours if r.levelno >= logging.WARNING]
    # One warning for the burst, not one per retry; recovery is logged once too.
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert "failed" in warned[0].getMessage()
    assert sum("recovered" in r.getMessage() for r in ours) == 1

"""Long polling feeds the same handler as the webhook (development mode)."""

from __future__ import annotations

import asyncio
import contextlib

from api_stack import Api
from peers.telegram_api import TelegramPeer

from channels.telegram import TelegramSettings, telegram_bot
from orchestrator.api.serve import serving
from orchestrator.api.telegram_poll import poll_updates


async def test_start_link_arrives_by_long_polling(api: Api) -> None:
    await api.client.put("/v1/contacts/p1", headers=api.auth, json={"email": "p@example.com"})
    link = (await api.client.post("/v1/contacts/p1/telegram-link", headers=api.auth)).json()
    token = link["url"].split("start=")[1]
    peer = TelegramPeer()
    peer.updates.append(
        {
            "update_id": 41,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 4242, "type": "private"},
                "text": f"/start {token}",
            },
        }
    )
    async with serving(peer.app()) as base:
        bot = telegram_bot(TelegramSettings(token=peer.token, base_url=f"{base}/bot"))
        task = asyncio.create_task(poll_updates(bot, api.svc, timeout=0, idle=0.05))
        try:
            for _ in range(100):
                contact = (await api.client.get("/v1/contacts/p1", headers=api.auth)).json()
                if contact["telegram_chat_id"]:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert contact["telegram_chat_id"] == "4242"
    assert peer.violations == []

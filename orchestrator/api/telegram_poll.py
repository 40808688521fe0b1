"""Long polling for development: the same update handler as the webhook, fed by getUpdates,
so a bot works on a laptop without a public URL."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import NetworkError, TelegramError

from orchestrator.api.services import Services
from orchestrator.api.telegram_hooks import handle_update

log = logging.getLogger(__name__)


async def poll_updates(bot: Bot, svc: Services, *, timeout: int = 25, idle: float = 0.5) -> None:
    """Run until cancelled. Updates are acknowledged (offset) only after they were handled."""
    await bot.initialize()
    try:
        await bot.delete_webhook()  # getUpdates and a webhook exclude each other
        offset = 0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=timeout)
            except NetworkError as exc:
                log.warning("telegram polling: %s", exc.__class__.__name__)
                await asyncio.sleep(idle)
                continue
            for update in updates:
                try:
                    outcome = await handle_update(svc, update.to_dict())
                    log.info("telegram update %s: %s", update.update_id, outcome)
                except TelegramError as exc:
                    log.warning("telegram update %s failed: %s", update.update_id, exc)
                offset = update.update_id + 1
            if not updates:
                await asyncio.sleep(idle)
    finally:
        await bot.shutdown()

"""Long polling for development: the same update handler as the webhook, fed by getUpdates,
so a bot works on a laptop without a public URL.

The loop is supervised: any error (the Bot API unreachable, the store busy, a bug on one
update) restarts it after a pause that doubles up to a cap, counted in
``omni_telegram_poll_restarts_total`` and logged once per burst of failures, not per retry."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot

from orchestrator.api.services import Services
from orchestrator.api.telegram_hooks import handle_update
from orchestrator.engine import metrics

log = logging.getLogger(__name__)

#: Errors of the store (busy, unreachable, a failed statement) or the network: the update is
#: not acknowledged, so it is handled again once the loop restarts (as Telegram retries a
#: webhook the store failed). Any other error on one update is a bug or an update we cannot
#: handle: logged and acknowledged, so it does not block the updates after it.
RETRIED: tuple[type[BaseException], ...] = (SQLAlchemyError, ConnectionError, TimeoutError)


@dataclass
class _Progress:
    offset: int = 0
    #: Failures since the last round that handled all its updates.
    failures: int = 0


async def poll_updates(
    bot: Bot,
    svc: Services,
    *,
    timeout: int = 25,
    idle: float = 0.5,
    backoff_cap: float = 60.0,
) -> None:
    """Run until cancelled. Updates are acknowledged (offset) only after they were handled."""
    progress = _Progress()
    try:
        while True:
            try:
                await _poll(bot, svc, progress, timeout=timeout, idle=idle)
            except Exception as exc:  # supervised: every failure restarts the loop
                metrics.TELEGRAM_POLL_RESTARTS.inc()
                progress.failures += 1
                pause = min(backoff_cap, idle * 2 ** (progress.failures - 1))
                if progress.failures == 1:
                    log.warning(
                        "telegram polling failed (%s); retrying with backoff up to %.0f s",
                        type(exc).__name__,
                        backoff_cap,
                        exc_info=not isinstance(exc, RETRIED),
                    )
                else:
                    log.debug("telegram polling failed again: %s", type(exc).__name__)
                await asyncio.sleep(pause)
    finally:
        await bot.shutdown()


async def _poll(bot: Bot, svc: Services, progress: _Progress, *, timeout: int, idle: float) -> None:
    await bot.initialize()
    await bot.delete_webhook()  # getUpdates and a webhook exclude each other
    while True:
        updates = await bot.get_updates(offset=progress.offset, timeout=timeout)
        for update in updates:
            try:
                outcome = await handle_update(svc, update.to_dict())
                log.info("telegram update %s: %s", update.update_id, outcome)
            except RETRIED:
                raise
            except Exception:
                log.exception("telegram update %s could not be handled: skipped", update.update_id)
            progress.offset = update.update_id + 1
        # Recovered once a whole round went through: getUpdates answering is not enough
        # when the store still fails every update.
        if progress.failures:
            log.info("telegram polling recovered after %d failure(s)", progress.failures)
            progress.failures = 0
        if not updates:
            await asyncio.sleep(idle)

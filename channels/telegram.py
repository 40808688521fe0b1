"""Telegram through python-telegram-bot: HTML text with inline URL buttons.

Idempotency: the Bot API takes no idempotency key. The send log is checked before sending and
written after; if the worker dies between Telegram's answer and the log write, the retried
activity sends the message again (one HTTP round trip of exposure).
"""

from __future__ import annotations

import asyncio
import os
import warnings
from dataclasses import replace
from datetime import timedelta

# Opt in to python-telegram-bot 23 semantics now (timedelta time periods): the v22 int form
# warns on every flood-control error. Must be set before PTB reads it.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from channels.base import (
    ChannelMisconfigured,
    Delivery,
    Outbound,
    PermanentChannelError,
    Rendered,
    ShowsAsSent,
    TransientChannelError,
)
from channels.preferences import has_own_link, telegram_text
from channels.ratelimit import KeyedBuckets, TokenBucket
from channels.settings import TelegramSettings


def telegram_bot(settings: TelegramSettings) -> Bot:
    request = HTTPXRequest(connection_pool_size=settings.connections)
    return Bot(settings.token.get_secret_value(), base_url=settings.base_url, request=request)


class TelegramChannel(ShowsAsSent):
    name = "telegram"

    def __init__(self, settings: TelegramSettings, bot: Bot) -> None:
        self.settings = settings
        self.bot = bot
        self._overall = TokenBucket(settings.messages_per_second)
        self._per_chat = KeyedBuckets(settings.per_chat_per_second, burst=1)
        self._ready = False
        self._starting = asyncio.Lock()

    async def _start(self) -> None:
        # Concurrent first sends must not each initialise the bot: every initialize() builds
        # a fresh HTTP client, and a pile of them cut throughput by two thirds.
        async with self._starting:
            if not self._ready:
                try:
                    await self.bot.initialize()
                except TelegramError:
                    await self.bot.shutdown()  # release the HTTP connection pool it opened
                    raise
                self._ready = True

    async def _initialise(self) -> None:
        try:
            await self._start()
        except InvalidToken:
            raise ChannelMisconfigured("Telegram bot token rejected") from None
        except TelegramError as exc:
            raise ChannelMisconfigured(f"Telegram getMe failed: {exc.__class__.__name__}") from None

    async def check(self) -> None:
        await self._initialise()

    async def close(self) -> None:
        if self._ready:
            await self.bot.shutdown()
            self._ready = False

    def as_sent(self, out: Outbound) -> Rendered:
        """The message as the customer receives it, the preference center's link included."""
        m = out.message
        return replace(m, text=telegram_text(m.text, out.preferences_url, m.locale))

    async def send(self, out: Outbound) -> Delivery:
        await self._initialise()
        chat = str(out.address)
        text = telegram_text(out.message.text, out.preferences_url, out.message.locale)
        # Telegram previews a message's first link: never our footer's (the customer's
        # preference page as a card), only a link the message itself carries.
        preview = None
        if text != out.message.text and not has_own_link(out.message.text):
            preview = LinkPreviewOptions(is_disabled=True)
        markup = None
        if out.message.buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, url=url)] for label, url in out.message.buttons]
            )
        await self._overall.acquire()
        await self._per_chat.acquire(chat)
        await out.handing_over()
        try:
            sent = await self.bot.send_message(
                chat_id=chat,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=preview,
            )
        except RetryAfter as exc:
            raise TransientChannelError(
                "telegram: flood control", retry_after=_seconds(exc)
            ) from None
        except Forbidden as exc:
            raise PermanentChannelError(f"blocked: {exc.message}", suppress=True) from None
        except InvalidToken:
            raise ChannelMisconfigured("Telegram bot token rejected") from None
        except BadRequest as exc:  # a NetworkError subclass: check it first
            if "chat not found" in exc.message.lower():
                raise PermanentChannelError(
                    f"invalid_address: {exc.message}", suppress=True
                ) from None
            raise PermanentChannelError(f"rejected: {exc.message}") from None
        except (TimedOut, NetworkError) as exc:
            raise TransientChannelError(f"telegram: {exc.__class__.__name__}") from None
        return Delivery(provider_id=f"{chat}:{sent.message_id}")


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form of retry_after
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

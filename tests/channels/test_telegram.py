"""The Telegram adapter against a local Bot API server that checks requests against the spec."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from peers.telegram_api import TelegramPeer

from channels.base import (
    ChannelMisconfigured,
    Outbound,
    PermanentChannelError,
    Rendered,
    TransientChannelError,
)
from channels.settings import TelegramSettings
from channels.telegram import TelegramChannel, telegram_bot
from orchestrator.api.serve import serving


@pytest.fixture
async def peer() -> AsyncIterator[tuple[TelegramPeer, str]]:
    tg = TelegramPeer()
    async with serving(tg.app()) as base:
        yield tg, base
    assert tg.violations == [], "requests the real Bot API would reject"


def channel(
    peer: tuple[TelegramPeer, str], token: str | None = None, **limits: float
) -> TelegramChannel:
    tg, base = peer
    settings = TelegramSettings(token=token or tg.token, base_url=f"{base}/bot", **limits)
    return TelegramChannel(settings, telegram_bot(settings))


def message(chat: str = "555", buttons: list[tuple[str, str]] | None = None) -> Outbound:
    rendered = Rendered(
        channel="telegram", locale="", text="<b>Your cart</b> is waiting", buttons=buttons or []
    )
    return Outbound(
        key="k",
        channel="telegram",
        address=chat,
        message=rendered,
        customer_id="42",
        scenario="cart",
        template="cart/reminder",
    )


async def test_html_text_and_inline_url_buttons(peer: tuple[TelegramPeer, str]) -> None:
    ch = channel(peer)
    await ch.check()
    delivery = await ch.send(
        message(
            buttons=[("Open my cart", "https://t.test/c/1"), ("Help", "https://shop.test/help")]
        )
    )
    await ch.close()
    [got] = peer[0].sent
    assert delivery.provider_id == "555:1"
    assert (got["chat_id"], got["text"], got["parse_mode"]) == (
        "555",
        "<b>Your cart</b> is waiting",
        "HTML",
    )
    assert json.loads(got["reply_markup"]) == {
        "inline_keyboard": [
            [{"text": "Open my cart", "url": "https://t.test/c/1"}],
            [{"text": "Help", "url": "https://shop.test/help"}],
        ]
    }


@pytest.mark.parametrize(
    ("status", "description", "reason", "suppress"),
    [
        (403, "Forbidden: bot was blocked by the user", "blocked", True),
        (400, "Bad Request: chat not found", "invalid_address", True),
        (400, "Bad Request: can't parse entities", "rejected", False),
    ],
)
async def test_permanent_errors(
    peer: tuple[TelegramPeer, str], status: int, description: str, reason: str, suppress: bool
) -> None:
    peer[0].failures["777"] = (status, description, {})
    ch = channel(peer)
    with pytest.raises(PermanentChannelError) as info:
        await ch.send(message(chat="777"))
    await ch.close()
    assert info.value.reason.startswith(reason) and info.value.suppress is suppress


async def test_flood_control_is_transient_with_retry_after(peer: tuple[TelegramPeer, str]) -> None:
    peer[0].failures["888"] = (429, "Too Many Requests: retry after 5", {"retry_after": 5})
    ch = channel(peer)
    with pytest.raises(TransientChannelError) as info:
        await ch.send(message(chat="888"))
    await ch.close()
    assert info.value.retry_after == 5.0


async def test_bad_token_fails_the_check(peer: tuple[TelegramPeer, str]) -> None:
    ch = channel(peer, token="999:WRONG")
    with pytest.raises(ChannelMisconfigured, match="token rejected") as info:
        await ch.check()
    assert "WRONG" not in str(info.value)


async def test_one_message_a_second_per_chat(peer: tuple[TelegramPeer, str]) -> None:
    ch = channel(peer, per_chat_per_second=5.0)
    start = time.perf_counter()
    await asyncio.gather(
        *(ch.send(message(chat="555")) for _ in range(6)),
        *(ch.send(message(chat=str(600 + i))) for i in range(6)),
    )
    elapsed = time.perf_counter() - start
    await ch.close()
    assert elapsed >= 0.9  # six to one chat at five a second; the other chats do not wait
    assert len(peer[0].sent) == 12

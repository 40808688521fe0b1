"""Telegram text is HTML (parse_mode=HTML): customer and event data is escaped for Telegram's
subset, markup comes only from the template, and any name renders and sends. Checked through
the send activity against the local Bot API, which parses the HTML as Telegram does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import pytest
from peers.telegram_api import TelegramPeer
from peers.telegram_html import CantParseEntities, parse_html
from temporalio.testing import ActivityEnvironment

from channels.settings import TelegramSettings
from channels.telegram import TelegramChannel, telegram_bot
from orchestrator.api.serve import serving
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.engine.tracking import Tracker

TEMPLATE = (
    "{% block text %}<b>Hi {{ contact.first_name }}</b>, your cart from {{ cart.shop }} "
    'is waiting: <i>{{ cart.note }}</i> <a href="{{ link(cart.url) }}">open</a>{% endblock %}'
    "{% block buttons %}Open {{ contact.first_name }}'s cart | {{ link(cart.url) }}\n"
    "Help | https://shop.example/help{% endblock %}"
)
EVIL_LINK = '<a href="https://evil.example/login">Anna</a>'
#: first name -> what Telegram must show of it.
NAMES = {
    EVIL_LINK: EVIL_LINK,
    "Ann <3": "Ann <3",
    "Smith & Co": "Smith & Co",
    "</b><i>Zoë 😀": "</b><i>Zoë 😀",
    'O\'Brien "Bob" &amp;': 'O\'Brien "Bob" &amp;',
    "Ева\r\nEvil | https://evil.example/x": "Ева\r\nEvil | https://evil.example/x",
}
TRACKER = Tracker(b"t" * 32, "https://t.shop.example")


@pytest.fixture
async def wired() -> AsyncIterator[tuple[Activities, TelegramPeer]]:
    peer = TelegramPeer()
    async with serving(peer.app()) as base:
        settings = TelegramSettings(token=peer.token, base_url=f"{base}/bot")
        channel = TelegramChannel(settings, telegram_bot(settings))
        contacts = [
            Contact.model_validate(
                {
                    "id": f"c{i}",
                    "first_name": name,
                    "telegram_chat_id": str(1000 + i),
                    "consents": {"telegram": True},
                }
            )
            for i, name in enumerate(NAMES)
        ]
        acts = Activities(
            directory=InMemoryDirectory(contacts),
            send_log=InMemorySendLog(),
            channels={"telegram": channel},
            tracker=TRACKER,
        )
        yield acts, peer
        await channel.close()
    assert peer.violations == []


def request(customer: str, cart: Mapping[str, object]) -> SendRequest:
    return SendRequest(
        key=f"cart/{customer}/g0/steps.1/telegram",
        scenario="cart",
        category="marketing",
        step="steps.1",
        channel="telegram",
        template="cart/reminder",
        customer_id=customer,
        now=datetime(2026, 11, 24, 12, tzinfo=UTC).isoformat(),
        run={"id": f"cart/{customer}"},
        trigger={"cart": dict(cart)},
        event={},
        sources={"": TEMPLATE},
    )


async def test_names_and_event_data_are_escaped_and_every_message_is_accepted(
    wired: tuple[Activities, TelegramPeer],
) -> None:
    acts, peer = wired
    cart = {
        "shop": "Tom & Jerry <Shop>",
        "note": '<a href="https://evil.example/pay">pay here</a> & <b>now</b>',
        "url": "https://shop.example/cart?a=1&b=2",
    }
    for i in range(len(NAMES)):
        result = await ActivityEnvironment().run(acts.send, request(f"c{i}", cart))
        assert result.status == "sent", result.reason
    assert len(peer.sent) == len(NAMES)
    for (name, shown_name), params, shown in zip(NAMES.items(), peer.sent, peer.shown, strict=True):
        assert params["parse_mode"] == "HTML"
        flat = " ".join(shown_name.split())
        # The user sees the name and the event data as written, nothing of it as markup.
        assert shown.text.startswith(f"Hi {shown_name}, your cart from Tom & Jerry <Shop>")
        assert '<a href="https://evil.example/pay">pay here</a> & <b>now</b>' in shown.text
        # Only the template's own entities: bold, italic and the tracked link.
        assert [e.type for e in shown.entities] == ["bold", "italic", "text_link"]
        [link] = shown.links
        assert link.startswith("https://t.shop.example/t/c/")
        assert TRACKER.verify(link.rsplit("/", 1)[1], "click").url == cart["url"]
        assert "evil.example" not in "".join(shown.links)
        # The escaped form is what went over the wire.
        if name == EVIL_LINK:
            assert (
                "&lt;a href=&#34;https://evil.example/login&#34;&gt;Anna&lt;/a&gt;"
                in (params["text"])
            )
        markup = json.loads(params["reply_markup"])["inline_keyboard"]
        assert [row[0]["text"] for row in markup] == [f"Open {flat}'s cart", "Help"]
        assert markup[0][0]["url"].startswith("https://t.shop.example/t/c/")
        assert markup[1][0]["url"] == "https://shop.example/help"


def test_the_local_bot_api_parses_html_like_telegram() -> None:
    """The peer refuses what Telegram refuses, so a passing send means a real one would pass."""
    for bad in ("Hi Ann <3", "Smith & Co", "a > b", "<b>open", "<script>x</script>", "</b>"):
        with pytest.raises(CantParseEntities):
            parse_html(bad)
    parsed = parse_html('<b>Hi</b> &lt;3 &amp; <a href="https://x.example/?a=1&amp;b=2">go</a>')
    assert parsed.text == "Hi <3 & go"
    assert parsed.links == ["https://x.example/?a=1&b=2"]

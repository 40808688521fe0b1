"""How the preference center's link fits each channel (channels/preferences.py): SMS segments
and encoding, Telegram's 4096 characters and HTML, the web push payload limit; and the
service worker that turns the push action into a button (run in Node, as a browser would)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from channels.base import Outbound, Rendered
from channels.preferences import (
    PUSH_MAX_PAYLOAD,
    TELEGRAM_MAX_TEXT,
    push_payload,
    sms_text,
    telegram_text,
)
from channels.push import PushChannel
from channels.segments import segments
from channels.settings import PushSettings, SmsSettings, TelegramSettings
from channels.sms import SmsChannel, twilio_client
from channels.telegram import TelegramChannel, telegram_bot
from channels.vapid import generate_vapid_keys
from orchestrator.engine.tracking import Tracker

URL = "https://shop.example/p/AbCdEfGhIjKl"
ROOT = Path(__file__).resolve().parents[2]


def test_a_gsm7_sms_gets_a_labelled_link_and_stays_gsm7() -> None:
    sent = sms_text("Sale: 20% off linen", URL, "en", max_segments=4)
    assert sent == f"Sale: 20% off linen\nPreferences: {URL}"
    assert segments(sent).encoding == "GSM-7" and segments(sent).segments == 1


def test_a_russian_label_never_turns_a_gsm7_sms_into_ucs2() -> None:
    sent = sms_text("Sale: 20% off", URL, "ru-RU", max_segments=4)
    assert sent == f"Sale: 20% off\n{URL}"  # bare: Cyrillic would halve each segment
    assert segments(sent).encoding == "GSM-7"


def test_a_ucs2_sms_gets_its_own_language() -> None:
    sent = sms_text("Скидка 20%", URL, "ru", max_segments=4)
    assert sent == f"Скидка 20%\nНастройки: {URL}"
    assert sms_text("Sale 😀", URL, "en", max_segments=4) == f"Sale 😀\nPreferences: {URL}"


def test_the_bare_link_when_the_label_would_cost_a_segment() -> None:
    text = "x" * (160 - 1 - len(URL))  # the bare link fills the one segment exactly
    sent = sms_text(text, URL, "en", max_segments=4)
    assert sent == f"{text}\n{URL}" and segments(sent).segments == 1
    longer = "x" * 200  # two segments either way: the label goes with it
    assert sms_text(longer, URL, "en", max_segments=4).endswith(f"\nPreferences: {URL}")


def test_no_link_rather_than_a_refused_message() -> None:
    text = "x" * (153 * 2 - 5)  # fits 2 segments, not with any link
    assert sms_text(text, URL, "en", max_segments=2) == text
    assert sms_text("hi", "", "en", max_segments=1) == "hi"


def test_telegram_link_is_html_under_the_text() -> None:
    sent = telegram_text("<b>Sale</b> &amp; more", 'https://x.example/p/a"b<c', "ru")
    assert sent == (
        '<b>Sale</b> &amp; more\n\n<a href="https://x.example/p/a&quot;b&lt;c">Настройки</a>'
    )


def test_telegram_text_near_the_limit_goes_as_it_was() -> None:
    full = "я" * (TELEGRAM_MAX_TEXT - 5)
    assert telegram_text(full, URL, "en") == full
    # Markup does not count: what the customer sees is short enough for the link.
    tagged = "<b>x</b>" * 600  # 4,800 characters of markup, 600 shown
    assert telegram_text(tagged, URL, "en").endswith(f'<a href="{URL}">Preferences</a>')
    emoji = "😀" * (TELEGRAM_MAX_TEXT // 2 - 3)  # two UTF-16 units each
    assert telegram_text(emoji, URL, "en") == emoji


def test_push_action_only_within_the_payload_limit() -> None:
    fields = {"title": "t", "body": "b", "url": "", "icon": "", "key": "k"}
    payload, has = push_payload(fields, URL, "en")
    assert has and json.loads(payload)["actions"] == [
        {"action": "preferences", "title": "Preferences", "url": URL}
    ]
    big = {**fields, "body": "ü" * (PUSH_MAX_PAYLOAD // 2 - 80)}
    payload, has = push_payload(big, URL, "en")
    assert not has and "actions" not in json.loads(payload)
    assert push_payload(fields, "", "en") == (json.dumps(fields), False)


def test_short_preference_codes_are_random_and_carry_no_id() -> None:
    tracker = Tracker(b"k" * 32, "https://shop.example")
    made = {
        tracker.short_preferences(customer_id="alex@example.com", channel="sms")[1]
        for _ in range(50)
    }
    assert len(made) == 50
    url, code, token = tracker.short_preferences(customer_id="alex@example.com", channel="sms")
    assert url == f"https://shop.example/p/{code}" and len(code) == 12 and "." not in code
    assert tracker.verify(token, "preferences").customer_id == "alex@example.com"


SW_HARNESS = """
const fs = require('fs');
const vm = require('vm');
const handlers = {};
const shown = [];
const opened = [];
const self = {
  addEventListener: (name, fn) => { handlers[name] = fn; },
  registration: { showNotification: (title, options) => { shown.push({title, options}); } },
  clients: { openWindow: (url) => { opened.push(url); } },
};
vm.runInNewContext(fs.readFileSync(process.argv[2], 'utf8'), { self });
const payload = JSON.parse(process.argv[3]);
handlers.push({ data: { json: () => payload }, waitUntil: () => {} });
const n = shown[0];
const click = (action) => handlers.notificationclick({
  action, notification: { data: n.options.data, close: () => {} }, waitUntil: () => {},
});
click('');
click('preferences');
console.log(JSON.stringify({ shown, opened }));
"""


def test_the_service_worker_shows_the_action_and_opens_its_link(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the service worker cannot run here")
    harness = tmp_path / "sw.js"
    harness.write_text(SW_HARNESS, encoding="utf-8")
    fields = {"title": "Sale", "body": "b", "url": "https://t.example/c", "icon": "", "key": "k"}
    payload, _ = push_payload(fields, URL, "en")
    done = subprocess.run(
        [node, str(harness), str(ROOT / "orchestrator/static/omni-sw.js"), payload],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout)
    (note,) = got["shown"]
    assert note["options"]["actions"] == [{"action": "preferences", "title": "Preferences"}]
    assert note["options"]["tag"] == "k"
    assert got["opened"] == ["https://t.example/c", URL]  # the body, then the button


async def test_each_adapter_shows_what_it_sends() -> None:
    """``as_sent`` (what the console shows of a kept message) carries the link as sent."""

    def out(channel: str, message: Rendered) -> Outbound:
        return Outbound(
            key="k",
            channel=channel,
            address="a",
            message=message,
            customer_id="c",
            scenario="s",
            template="t",
            preferences_url=URL,
        )

    settings = SmsSettings(account_sid="AC" + "0" * 32, auth_token="x", from_number="+15005550006")
    sms = SmsChannel(settings, twilio_client(settings))
    try:
        text = sms.as_sent(out("sms", Rendered("sms", "ru", text="Скидка")))
    finally:
        await sms.close()
    assert text.text == f"Скидка\nНастройки: {URL}"
    tg = TelegramSettings(token="1:x")
    telegram = TelegramChannel(tg, telegram_bot(tg))
    shown = telegram.as_sent(out("telegram", Rendered("telegram", "", text="<b>x</b>")))
    assert shown.text == f'<b>x</b>\n\n<a href="{URL}">Preferences</a>'
    push = PushSettings(vapid_private_key=generate_vapid_keys()[0], subject="mailto:a@b.c")
    async with aiohttp.ClientSession() as session:
        note = PushChannel(push, session).as_sent(out("push", Rendered("push", "", title="t")))
    assert note.buttons == [("Preferences", URL)]

"""The preference center's link in the channels that have no email footer: the last line of a
marketing SMS, a link under a marketing Telegram message, an action on a marketing web push
notification. The engine hands the adapter a short URL (``Outbound.preferences_url``,
``https://<public base>/p/<code>``: no id and no token in it); this module decides how it
fits the channel's limits, so a message that was fine without the link is never refused
because of it.

Each function returns what goes to the provider; an adapter's ``as_sent`` uses the same one,
so the console shows exactly what the customer got.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from channels.segments import segments

#: The link's words, by language (the message's locale; English otherwise). Short: every
#: character of an SMS costs.
LABELS = {"en": "Preferences", "ru": "Настройки"}
#: Telegram's limit for a message's text, after entities are parsed (UTF-16 code units).
TELEGRAM_MAX_TEXT = 4096
#: The largest push payload a push service must take (RFC 8291: a 4096-byte record less the
#: aes128gcm header, the key, the tag and the padding delimiter).
PUSH_MAX_PAYLOAD = 3993
#: The action's id in the payload; the service worker (omni-sw.js) opens its URL.
PUSH_ACTION = "preferences"
_TAG = re.compile(r"<[^>]*>")


def label(locale: str) -> str:
    return LABELS.get(locale.split("-")[0].split("_")[0].lower(), LABELS["en"])


def sms_text(text: str, url: str, locale: str, *, max_segments: int) -> str:
    """``text`` with the link as its last line: labelled in the message's language when that
    costs no more segments than the bare link, and never a change of encoding (a Cyrillic
    label would make a GSM-7 message UCS-2, halving what each segment holds). Left out when
    every form would exceed ``max_segments``."""
    if not url:
        return text
    encoding = segments(text).encoding if text else ""
    fitting = []
    for candidate in (f"{text}\n{label(locale)}: {url}", f"{text}\n{url}"):
        info = segments(candidate)
        if (not encoding or info.encoding == encoding) and info.segments <= max_segments:
            fitting.append((info.segments, candidate))
    if not fitting:
        return text
    return min(fitting, key=lambda found: found[0])[1]  # min keeps the first of equals


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _shown(markup: str) -> str:
    """What the customer sees of Telegram HTML (tags gone, entities read)."""
    return html.unescape(_TAG.sub("", markup))


def telegram_text(text: str, url: str, locale: str) -> str:
    """``text`` (Telegram HTML) with the link under it, unless that would pass Telegram's
    4096 characters: then the message goes as it was."""
    if not url:
        return text
    words = label(locale)
    link = f'\n\n<a href="{html.escape(url, quote=True)}">{html.escape(words)}</a>'
    if _utf16(text) + _utf16(words) + 2 > TELEGRAM_MAX_TEXT and (
        _utf16(_shown(text)) + _utf16(words) + 2 > TELEGRAM_MAX_TEXT
    ):
        return text
    return text + link


def has_own_link(text: str) -> bool:
    """Whether Telegram would preview a link of the message itself (not ours)."""
    return "<a " in text.lower() or "http://" in text or "https://" in text


def push_payload(fields: dict[str, Any], url: str, locale: str) -> tuple[str, bool]:
    """The notification's JSON, and whether it offers the "Preferences" action: it does when
    the link fits the payload limit (a notification without it beats one the push service
    refuses)."""
    plain = json.dumps(fields, ensure_ascii=False)
    if not url:
        return plain, False
    actions = [{"action": PUSH_ACTION, "title": label(locale), "url": url}]
    with_action = json.dumps({**fields, "actions": actions}, ensure_ascii=False)
    if len(with_action.encode()) > PUSH_MAX_PAYLOAD:
        return plain, False
    return with_action, True

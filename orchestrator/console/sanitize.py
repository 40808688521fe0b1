"""Messages as sent, made safe to show in the console: Telegram's HTML subset through nh3 (its
few tags stay, links only to http(s), everything else is text), and SMS text with its links
made clickable."""

from __future__ import annotations

import re
from html import escape

import nh3

#: The Bot API's HTML tags the console shows as such (core.telegram.org/bots/api#html-style).
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "blockquote"}
)
_URL = re.compile(r"(https?://[^\s<]+)")
_LINK_REL = "noopener noreferrer"


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # nh3 lets relative URLs through; in the console one would point into the console.
    if tag == "a" and attribute == "href" and not value.startswith(("http://", "https://")):
        return None
    return value


def telegram_html(text: str) -> str:
    return nh3.clean(
        text,
        tags=set(TELEGRAM_TAGS),
        # A tag that is not Telegram's goes, its text stays (shown, escaped), script's included.
        clean_content_tags=set(),
        attributes={"a": {"href"}},
        attribute_filter=_absolute_links_only,
        url_schemes={"http", "https"},
        link_rel=_LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


def linkify(text: str) -> str:
    """Plain text (SMS) as HTML with its links clickable."""
    return _URL.sub(
        lambda m: f'<a href="{m.group(1)}" target="_blank" rel="{_LINK_REL}">{m.group(1)}</a>',
        escape(text),
    )

"""Telegram's HTML subset made safe to show: its few tags stay, everything else is text."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
ALLOWED.add("blockquote")
_URL = re.compile(r"(https?://[^\s<]+)")


class _Clean(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("http://", "https://")):
                return
            self.out.append(f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">')
        else:
            self.out.append(f"<{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data))


def telegram_html(text: str) -> str:
    parser = _Clean()
    parser.feed(text)
    parser.close()
    return "".join(parser.out) + "".join(f"</{t}>" for t in reversed(parser.open))


def linkify(text: str) -> str:
    """Plain text (SMS) as HTML with its links clickable."""
    return _URL.sub(
        lambda m: (
            f'<a href="{m.group(1)}" target="_blank" rel="noopener noreferrer">{m.group(1)}</a>'
        ),
        escape(text),
    )

"""Telegram's HTML parse mode as the Bot API reads it (core.telegram.org/bots/api#html-style).

Only the supported tags exist; every ``<``, ``>`` and ``&`` that is not part of a tag or an
entity must be escaped (``&lt;`` ``&gt;`` ``&amp;``; named entities are limited to those three
and ``&quot;``, numeric ones are all allowed); otherwise the Bot API answers 400 "can't parse
entities". Parsing gives the text the user sees and the entities (bold, links...) over it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class CantParseEntities(ValueError):
    """What the Bot API says: 400 Bad Request: can't parse entities: ..."""


@dataclass
class Entity:
    type: str
    offset: int
    url: str = ""


@dataclass
class Parsed:
    text: str = ""
    entities: list[Entity] = field(default_factory=list)

    @property
    def links(self) -> list[str]:
        return [e.url for e in self.entities if e.type == "text_link"]


def parse_html(source: str) -> Parsed:
    """The visible text and the entities, or CantParseEntities like Telegram's parser."""
    out, i = Parsed(), 0
    stack: list[tuple[str, Entity]] = []
    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG.match(source, i)
            if match is None:
                raise CantParseEntities(f"Unexpected '<' at byte offset {i}")
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in TAGS:
                raise CantParseEntities(f'Unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if not stack or stack[-1][0] != name:
                    raise CantParseEntities(f'Unmatched end tag "{name}" at byte offset {i}')
                stack.pop()
            else:
                found = {m.group(1).lower(): _value(m) for m in _ATTR.finditer(attrs)}
                entity = Entity(TAGS[name], len(out.text), html.unescape(found.get("href", "")))
                if name == "a" and not entity.url:
                    raise CantParseEntities(f"a tag without href at byte offset {i}")
                out.entities.append(entity)
                stack.append((name, entity))
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(source, i)
            if match is None:
                raise CantParseEntities(f"Character '&' must be escaped at byte offset {i}")
            out.text += html.unescape(match.group(0))
            i = match.end()
        elif ch == ">":
            raise CantParseEntities(f"Character '>' must be escaped at byte offset {i}")
        else:
            out.text += ch
            i += 1
    if stack:
        raise CantParseEntities(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out


def _value(match: re.Match[str]) -> str:
    return next((g for g in match.groups()[1:] if g is not None), "")

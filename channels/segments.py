"""SMS segments: GSM-7 (160 a message, 153 per part) or UCS-2 (70, 67 per part).

One character outside GSM-7 (a Cyrillic letter, an emoji) makes the whole message UCS-2;
characters of the GSM-7 extension table (e.g. the euro sign and brackets) take two septets.

Multipart messages are packed the way carriers pack them: a GSM-7 escape sequence (ESC + the
extension character) is never split across two parts, nor is a UTF-16 surrogate pair (an emoji
outside the basic plane). A character that does not fit whole in the current part starts the
next one, so 152 septets + "€" + 152 septets are 3 parts, not 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    segments: int
    characters: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)

    def __str__(self) -> str:
        return f"{self.segments} segment(s), {self.encoding}, {self.characters} characters"


def _pack(widths: Iterable[int], part: int) -> int:
    """Number of parts when no character (of 1 or 2 units) may be split across parts."""
    parts, used = 1, 0
    for width in widths:
        if used + width > part:
            parts, used = parts + 1, 0
        used += width
    return parts


def segments(text: str) -> SegmentInfo:
    if all(ch in _BASIC or ch in _EXTENDED for ch in text):
        widths = [2 if ch in _EXTENDED else 1 for ch in text]
        single, part, encoding = 160, 153, "GSM-7"
    else:
        widths = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, part, encoding = 70, 67, "UCS-2"
    units = sum(widths)
    count = 1 if units <= single else _pack(widths, part)
    return SegmentInfo(
        encoding=encoding, segments=count if text else 0, characters=len(text), units=units
    )

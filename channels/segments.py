"""SMS segments: GSM-7 (160 a message, 153 per part) or UCS-2 (70, 67 per part).

One character outside GSM-7 (a Cyrillic letter, an emoji) makes the whole message UCS-2;
characters of the GSM-7 extension table (e.g. the euro sign and brackets) take two septets.
"""

from __future__ import annotations

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


def segments(text: str) -> SegmentInfo:
    if all(ch in _BASIC or ch in _EXTENDED for ch in text):
        units = sum(2 if ch in _EXTENDED else 1 for ch in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // part)
    return SegmentInfo(
        encoding=encoding, segments=count if text else 0, characters=len(text), units=units
    )

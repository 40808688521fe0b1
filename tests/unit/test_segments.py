"""SMS segment counting at every boundary, as carriers count it."""

from __future__ import annotations

import pytest

from channels.segments import segments


@pytest.mark.parametrize(
    ("text", "count", "units"),
    [
        ("", 0, 0),
        ("a" * 160, 1, 160),
        ("a" * 161, 2, 161),
        ("a" * 306, 2, 306),
        ("a" * 307, 3, 307),
        ("a" * 158 + "€", 1, 160),  # exactly 160 septets: one message
        ("a" * 159 + "€", 2, 161),
        # the escape pair never straddles parts: 152 + € + 152 -> 152 | €+151 | 1
        ("a" * 152 + "€" + "a" * 152, 3, 306),
        ("a" * 152 + "^" + "a" * 151, 2, 305),
        ("a" * 151 + "€" + "a" * 153, 2, 306),
        ("{" * 153, 3, 306),  # 76 escapes a part (152 septets), 153 -> 76 + 76 + 1
        ("{" * 152, 2, 304),
    ],
)
def test_gsm7_boundaries(text: str, count: int, units: int) -> None:
    info = segments(text)
    assert info.encoding == "GSM-7"
    assert (info.segments, info.units) == (count, units)


@pytest.mark.parametrize(
    ("text", "count", "units"),
    [
        ("я" * 70, 1, 70),
        ("я" * 71, 2, 71),
        ("я" * 134, 2, 134),
        ("я" * 135, 3, 135),
        ("я" * 68 + "😀", 1, 70),
        ("я" * 69 + "😀", 2, 71),
        # the surrogate pair never straddles parts: 66 + emoji + 66 -> 66 | emoji+65 | 1
        ("я" * 66 + "😀" + "я" * 66, 3, 134),
        ("я" * 65 + "😀" + "я" * 67, 2, 134),
        ("😀" * 35, 1, 70),
        ("😀" * 36, 2, 72),  # 33 emoji a part (66 units)
        ("😀" * 67, 3, 134),
    ],
)
def test_ucs2_boundaries(text: str, count: int, units: int) -> None:
    info = segments(text)
    assert info.encoding == "UCS-2"
    assert (info.segments, info.units) == (count, units)


def test_one_non_gsm_character_makes_the_whole_message_ucs2() -> None:
    assert segments("a" * 69 + "я").segments == 1
    assert segments("a" * 70 + "я").segments == 2

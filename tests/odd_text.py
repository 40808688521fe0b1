"""Odd text for the fuzz tests: surrogates, NUL and other controls, RTL marks, combining
characters, 4-byte emoji, ids that clients normalise, and huge strings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("OMNI_FUZZ_EXAMPLES", "25"))
ODD = [
    "\ud800",
    "\udfff",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u200f",
    "\u202e",
    "e\u0301",
    "😀",
    "\U0010fffd",
    "\ufeff",
    "\t",
    "\r\n",
    ".",
    "..",
    "%2E%2E",
    "/",
    "%00",
]
TEXT = st.one_of(
    st.lists(st.one_of(st.characters(), st.sampled_from(ODD)), max_size=40).map("".join),
    st.sampled_from(ODD),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "é", "😀", "\ud800"]), st.integers(1, 9000)
    ),
)


def draw(count: int) -> list[str]:
    drawn: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(TEXT)
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return drawn


def form_text(value: str) -> str:
    return value.encode("utf-8", "replace").decode()[:1000]

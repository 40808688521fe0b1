"""The policy phrases a scenario may write: quiet-hour windows and frequency caps."""

from __future__ import annotations

import re
from datetime import time

from orchestrator.language.durations import DURATION_HINT, DurationError, parse_duration
from orchestrator.language.model import CHANNELS, FrequencyCap

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CAP = re.compile(r"^\s*(\d+)\s+(?:(?!messages?\b)(\w+)\s+)?(?:messages?\s+)?per\s+(\S+)\s*$")
CAP_HINT = "write '3 per 24h' (all channels) or '1 sms per 1d' (one channel)"
WINDOW_HINT = "write the window as 'HH:MM-HH:MM' in the customer's time zone, e.g. '21:00-09:00'"


class PolicyError(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        self.hint = hint
        super().__init__(message)


def parse_window(text: str) -> tuple[time, time]:
    match = _WINDOW.match(text) if isinstance(text, str) else None
    if not match:
        raise PolicyError(f"{text!r} is not a time window", WINDOW_HINT)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise PolicyError(f"{text!r} has an hour or minute out of range", WINDOW_HINT)
    if (h1, m1) == (h2, m2):
        raise PolicyError(f"{text!r} starts and ends at the same time", WINDOW_HINT)
    return time(h1, m1), time(h2, m2)


def parse_cap(text: str) -> FrequencyCap:
    match = _CAP.match(text) if isinstance(text, str) else None
    if not match:
        raise PolicyError(f"{text!r} is not a frequency cap", CAP_HINT)
    limit, channel, window = match.groups()
    if channel is not None and channel not in CHANNELS:
        raise PolicyError(f"{channel!r} is not a channel", f"use one of {', '.join(CHANNELS)}")
    try:
        seconds = int(parse_duration(window).total_seconds())
    except DurationError:
        raise PolicyError(f"{window!r} is not a duration", DURATION_HINT) from None
    if int(limit) < 1 or seconds < 1:
        raise PolicyError(f"{text!r} allows nothing", "the count and window must be positive")
    return FrequencyCap(limit=int(limit), window_s=seconds, channel=channel)

"""Scripted reaction times for ``omni simulate --history``: when the contact (and the shop)
reacted, as local weekday and time, so a send with ``at: best_time`` decides as it would.

``{"reacted_at": {"email": ["Tue 19:10", "Thu 18:40"]}, "shop": {"reacted_at": {...}}}``:
each entry is placed at its latest occurrence before the simulation starts, in the contact's
zone (a repeated entry a week earlier each time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from orchestrator.engine.send_time import DAYS, Reaction
from orchestrator.engine.timing import InMemoryReactionTimes
from orchestrator.language.localtime import customer_zone
from orchestrator.language.model import CHANNELS

TIMES_HINT = (
    '"reacted_at" maps channels to local reaction times, e.g. {"reacted_at": {"email": '
    '["Tue 19:10", "Thu 18:40"]}}; under "shop" the same for everybody'
)
_ENTRY = re.compile(r"^(?P<day>[A-Z][a-z]{2}) (?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")

Script = dict[str, list[tuple[int, time]]]


class TimesInputError(ValueError):
    pass


def _script(found: Any, where: str) -> Script:
    if not isinstance(found, dict):
        raise TimesInputError(f"--history {where}reacted_at must be an object; {TIMES_HINT}")
    out: Script = {}
    for channel, entries in found.items():
        if channel not in CHANNELS or not isinstance(entries, list):
            raise TimesInputError(
                f"--history {where}reacted_at.{channel}: not a list of a channel "
                f"({', '.join(CHANNELS)}); {TIMES_HINT}"
            )
        for entry in entries:
            match = _ENTRY.match(entry) if isinstance(entry, str) else None
            if match is None or match.group("day") not in DAYS:
                raise TimesInputError(
                    f"--history {where}reacted_at.{channel}: {entry!r} is not a weekday and "
                    f"time such as 'Tue 19:10' ({', '.join(DAYS)}); {TIMES_HINT}"
                )
            clock = time(int(match.group("h")), int(match.group("m")))
            out.setdefault(channel, []).append((DAYS.index(match.group("day")), clock))
    return out


@dataclass
class ScriptedTimes:
    own: Script = field(default_factory=dict)
    shop: Script = field(default_factory=dict)

    def reactions(self, start: datetime, customer_id: str, timezone: str) -> InMemoryReactionTimes:
        def placed(script: Script, zone_name: str) -> list[Reaction]:
            tz = customer_zone(timezone)
            local = start.astimezone(tz)
            out: list[Reaction] = []
            seen: dict[tuple[str, int, time], int] = {}
            for channel, entries in script.items():
                for weekday, clock in entries:
                    repeat = seen.get((channel, weekday, clock), 0)
                    seen[(channel, weekday, clock)] = repeat + 1
                    back = (local.weekday() - weekday) % 7 or 7
                    day = local.date() - timedelta(days=back + 7 * repeat)
                    moment = datetime.combine(day, clock, tz)
                    out.append(Reaction(moment, channel, "opened", zone_name))
            return out

        return InMemoryReactionTimes(
            {customer_id: placed(self.own, "")}, placed(self.shop, timezone)
        )


def parse_times(data: dict[str, Any]) -> ScriptedTimes | None:
    """Takes ``reacted_at`` (and ``shop.reacted_at``) out of a parsed ``--history``; None
    when it scripts no reaction times."""
    own = data.pop("reacted_at", None)
    shop = data.get("shop")
    theirs = shop.pop("reacted_at", None) if isinstance(shop, dict) else None
    if own is None and theirs is None:
        return None
    return ScriptedTimes(
        _script(own, "") if own is not None else {},
        _script(theirs, "shop.") if theirs is not None else {},
    )

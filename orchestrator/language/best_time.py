"""``at: best_time`` on a send or a ladder rung: its syntax and its checks.

```yaml
- send: {email: cart/reminder}
  at: best_time        # the hour this customer is likeliest to react
  within: 24h          # held at most this long (default 24h, 1h to 7d)
  fallback: "10:00"    # nobody's reactions to learn from: 10:00 local (default: now)
```

The decision itself is the engine's (``engine/send_time.py``); here only what a marketer may
write, checked with file:line:column and a hint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.language.durations import format_duration
from orchestrator.language.localtime import LocalTimeError, parse_clock
from orchestrator.language.model import (
    MAX_BEST_TIME_WITHIN_S,
    MIN_BEST_TIME_WITHIN_S,
    BestTime,
    Rung,
    Scenario,
    Step,
    iter_steps,
)
from orchestrator.language.parse_base import did_you_mean
from orchestrator.language.policy_syntax import parse_window

if TYPE_CHECKING:
    from orchestrator.language.parse_base import ParserBase
    from orchestrator.language.yaml_source import Path

#: The keys beside a send (or inside a rung) that say when it goes.
BEST_TIME_KEYS = ("at", "within", "fallback")
AT_VALUES = ("best_time",)
HINT = 'e.g. at: best_time, within: 24h, fallback: "10:00" (or fallback: now)'
FALLBACK_HINT = (
    'fallback is now (at once) or a local time in quotes, e.g. fallback: "10:00": '
    "when neither the customer nor the shop has reactions to learn from"
)


def parse_best_time(parser: ParserBase, value: dict[str, Any], path: Path) -> BestTime | None:
    """``at``/``within``/``fallback`` in ``value`` (a send step's or a rung's mapping at
    ``path``); None when it has no ``at``."""
    if "at" not in value:
        for key in ("within", "fallback"):
            if key in value:
                parser.fail(
                    path + (key,),
                    f"{key} applies to a send held for its best time",
                    f"add at: best_time beside it, or drop {key}",
                    key=True,
                )
        return None
    at = value["at"]
    if at not in AT_VALUES:
        parser.fail(
            path + ("at",),
            f"at must be best_time, not {at!r}",
            did_you_mean(str(at), AT_VALUES)
            + "; at: best_time holds the message for the hour this customer reacts most",
        )
    best = BestTime()
    parser.spot(best, "at", path + ("at",))
    if "within" in value:
        within = parser.duration(value["within"], path + ("within",), "within")
        parser.spot(best, "within", path + ("within",))
        if 0 < within < MIN_BEST_TIME_WITHIN_S or within > MAX_BEST_TIME_WITHIN_S:
            parser.fail(
                path + ("within",),
                f"within must be from {format_duration(MIN_BEST_TIME_WITHIN_S)} to "
                f"{format_duration(MAX_BEST_TIME_WITHIN_S)}, not {format_duration(within)}",
                "the hold picks an hour of the week: at least one hour, at most a week",
            )
        elif within > 0:
            best.within_s = within
    if "fallback" in value:
        best.fallback = fallback(parser, value["fallback"], path + ("fallback",))
        parser.spot(best, "fallback", path + ("fallback",))
    return best


def fallback(parser: ParserBase, value: Any, path: Path) -> str:
    if value == "now":
        return "now"
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 10:00 as sexagesimal 600.
        clock = f"{value // 60}:{value % 60:02d}"
        parser.fail(
            path, f"fallback {clock} was read as the number {value}: quote it", FALLBACK_HINT
        )
        return "now"
    try:
        return parse_clock(value).strftime("%H:%M")
    except LocalTimeError:
        parser.fail(path, f"fallback must be now or a local HH:MM time, not {value!r}", HINT)
        return "now"


def held_sends(steps: list[Step]) -> list[tuple[Step, Rung | None, BestTime]]:
    """Every send and rung with ``at: best_time``: (step, rung or None, its BestTime)."""
    out: list[tuple[Step, Rung | None, BestTime]] = []
    for step in iter_steps(steps):
        if step.best_time is not None:
            out.append((step, None, step.best_time))
        out += [(step, r, r.best_time) for r in step.rungs if r.best_time is not None]
    return out


def check_best_times(parser: ParserBase, scenario: Scenario) -> None:
    """What only the whole scenario tells: a held send that must answer at once, a fallback
    time inside the quiet hours (it would be held again, to the window's end)."""
    for step, _, best in held_sends(scenario.steps):
        if step.quiet_hours == "ignore":
            parser.fail(
                parser.spots[(id(step), "quiet_hours")],
                "quiet_hours: ignore is for a send that answers the trigger at once; "
                "at: best_time holds it for later",
                "drop one of them: at once (quiet_hours: ignore) or at the best time",
            )
        quiet = scenario.quiet_hours
        if quiet is None or best.fallback == "now":
            continue
        start, end = parse_window(f"{quiet.start}-{quiet.end}")
        clock = parse_clock(best.fallback)
        inside = (clock >= start or clock < end) if start > end else start <= clock < end
        if inside:
            parser.fail(
                parser.spots.get((id(best), "fallback"), ()),
                f"fallback {best.fallback} is inside the quiet hours "
                f"({quiet.start}-{quiet.end}): the message would wait until {quiet.end}",
                f"pick a fallback time outside {quiet.start}-{quiet.end}, or fallback: now",
            )

"""The parser's vocabulary (keys, name forms) and the helpers every part of it uses."""

from __future__ import annotations

import difflib
import re
from typing import Any

from orchestrator.language.durations import DURATION_HINT, DurationError, parse_duration
from orchestrator.language.errors import Problem
from orchestrator.language.yaml_source import Located, Path

TOP_KEYS = (
    "scenario",
    "title",
    "description",
    "category",
    "topic",
    "trigger",
    "goal",
    "exit",
    "reaction",
    "quiet_hours",
    "frequency_cap",
    "holdout",
    "goal_window",
    "sample",
    "steps",
)
TRIGGER_KEYS = ("event", "when", "per", "again", "cooldown", "spread")
MATCH_KEYS = ("event", "when")
QUIET_KEYS = ("window", "action")
WAIT_FOR_KEYS = ("event", "when", "timeout")
LOCAL_TIME_KEYS = ("time", "date", "days")
COLLECT_KEYS = ("event", "for", "max", "key")
STEP_KEYS = {
    "wait": ("wait", "name"),
    "wait_until": ("wait_until", "late", "name"),
    "send": ("send", "quiet_hours", "at", "within", "fallback", "name"),
    "escalate": ("escalate", "order", "cost", "value", "name"),
    "if": ("if", "then", "else", "name"),
    "wait_for": ("wait_for", "on_event", "on_timeout", "name"),
    "split": ("split", "name"),
    "stop": ("stop", "name"),
    "collect": ("collect", "name"),
}
ID_FORM = re.compile(r"^[a-z][a-z0-9_]*$")
TOPIC_FORM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
EVENT_FORM = re.compile(r"^[a-z][a-z0-9_.]*$")
TEMPLATE_FORM = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")
PATH_FORM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    known = ", ".join(options)
    return f"did you mean {close[0]!r}? (known: {known})" if close else f"known keys: {known}"


def did_you_mean_text(word: str, options: list[str]) -> str:
    """``; did you mean `order_placed`?`` for the closest option, or nothing."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else f"; known: {', '.join(options)}"


class ParserBase:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.silenced: set[Path] = set()
        #: (id of a model object, field) -> YAML path of the value, so later checks can point
        #: at the exact expression or template reference instead of the step's first line.
        self.spots: dict[tuple[int, str], Path] = {}

    def spot(self, obj: object, name: str, path: Path) -> None:
        self.spots[(id(obj), name)] = path

    # -- helpers ---------------------------------------------------------------------------
    def fail(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> None:
        if path in self.silenced and not key:
            return
        self.problems.append(self.doc.problem(path, message, hint, key=key))

    def mapping(
        self, value: Any, path: Path, allowed: tuple[str, ...], what: str
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(
                path,
                f"{what} must be a mapping of keys, not {kind_of(value)}",
                f"allowed keys: {', '.join(allowed)}",
            )
            return {}
        unknown = [key for key in value if key not in allowed]
        if unknown:
            # Follow-on errors (e.g. "needs an event") would only repeat this one.
            self.silenced.add(path)
        for key in value:
            if key not in allowed:
                self.fail(
                    path + (key,),
                    f"unknown key {key!r} in {what}",
                    did_you_mean(key, allowed),
                    key=True,
                )
        return value

    def text(
        self,
        value: Any,
        path: Path,
        what: str,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"{what} must be text, not {kind_of(value)}", hint)
            return ""
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"{what} {value!r} has an invalid form", hint)
        return value

    def duration(self, value: Any, path: Path, what: str) -> int:
        try:
            seconds = int(
                parse_duration(str(value) if isinstance(value, int) else value).total_seconds()
            )
        except DurationError:
            self.fail(path, f"{what}: {value!r} is not a duration", DURATION_HINT)
            return 0
        if seconds <= 0:
            self.fail(path, f"{what} must be longer than zero", DURATION_HINT)
        return seconds

    def choice(self, value: Any, path: Path, what: str, options: tuple[str, ...]) -> str:
        if value not in options:
            self.fail(
                path,
                f"{what} must be one of {', '.join(options)}, not {value!r}",
                did_you_mean(str(value), options),
            )
            return options[0]
        return str(value)

    def condition(self, value: Any, path: Path) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return self.text(
            value, path, "condition", hint="write a Jinja2 expression, e.g. cart.total > 0"
        )


def kind_of(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: f"text {value!r}"}
    return names.get(type(value), f"{type(value).__name__} {value!r}")

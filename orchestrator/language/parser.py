"""YAML data -> Scenario, collecting every problem with its position and a hint."""

from __future__ import annotations

import difflib
import re
from typing import Any

from orchestrator.language.durations import DURATION_HINT, DurationError, parse_duration
from orchestrator.language.errors import Problem
from orchestrator.language.expressions import ExpressionError, split_time_expression
from orchestrator.language.model import (
    CHANNELS,
    REACTIONS,
    EventMatch,
    QuietHours,
    Rung,
    Scenario,
    Step,
    Trigger,
)
from orchestrator.language.policy_syntax import PolicyError, parse_cap, parse_window
from orchestrator.language.yaml_source import Located, Path

TOP_KEYS = (
    "scenario",
    "title",
    "description",
    "category",
    "trigger",
    "goal",
    "exit",
    "reaction",
    "quiet_hours",
    "frequency_cap",
    "sample",
    "steps",
)
TRIGGER_KEYS = ("event", "when", "per", "again")
MATCH_KEYS = ("event", "when")
QUIET_KEYS = ("window", "action")
WAIT_FOR_KEYS = ("event", "when", "timeout")
STEP_KEYS = {
    "wait": ("wait",),
    "wait_until": ("wait_until", "late"),
    "send": ("send",),
    "escalate": ("escalate",),
    "if": ("if", "then", "else"),
    "wait_for": ("wait_for", "on_event", "on_timeout"),
    "stop": ("stop",),
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_EVENT = re.compile(r"^[a-z][a-z0-9_.]*$")
_TEMPLATE = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    known = ", ".join(options)
    return f"did you mean {close[0]!r}? (known: {known})" if close else f"known keys: {known}"


class Parser:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.silenced: set[Path] = set()

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
                f"{what} must be a mapping of keys, not {_kind(value)}",
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
            self.fail(path, f"{what} must be text, not {_kind(value)}", hint)
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

    # -- top level -------------------------------------------------------------------------
    def scenario(self) -> Scenario:
        data = self.mapping(self.doc.data, (), TOP_KEYS, "a scenario")
        for required in ("scenario", "trigger", "steps"):
            if required not in data and isinstance(self.doc.data, dict):
                self.fail(
                    (),
                    f"missing required key {required!r}",
                    "a scenario needs at least: scenario, trigger, steps",
                )
        sid = self.text(
            data.get("scenario", "x"),
            ("scenario",),
            "scenario id",
            _ID,
            "use lower_snake_case, e.g. abandoned_cart",
        )
        scenario = Scenario(
            id=sid,
            trigger=self.trigger(data.get("trigger", {}), ("trigger",)),
            steps=self.steps(data.get("steps", []), ("steps",), "steps"),
            title=str(data.get("title", "")),
            description=str(data.get("description", "")),
            category=self.choice(
                data.get("category", "marketing"),
                ("category",),
                "category",
                ("marketing", "transactional"),
            ),
            goals=self.matches(data.get("goal"), ("goal",), "goal"),
            exits=self.matches(data.get("exit"), ("exit",), "exit"),
            source=self.doc.file,
        )
        if "reaction" in data:
            scenario.reaction = self.reactions(data["reaction"], ("reaction",))
        if "quiet_hours" in data:
            scenario.quiet_hours = self.quiet_hours(data["quiet_hours"], ("quiet_hours",))
        caps = data.get("frequency_cap", [])
        for i, cap in enumerate(caps if isinstance(caps, list) else [caps]):
            path: Path = ("frequency_cap", i) if isinstance(caps, list) else ("frequency_cap",)
            try:
                scenario.frequency_caps.append(parse_cap(cap))
            except PolicyError as exc:
                self.fail(path, str(exc), exc.hint)
        samples = data.get("sample", {})
        if isinstance(samples, dict) and all(isinstance(v, dict) for v in samples.values()):
            scenario.samples = samples
        else:
            self.fail(
                ("sample",),
                "sample must map event names to example event data",
                "e.g. sample: {cart_updated: {cart: {id: c-1, total: 59.9}}}",
            )
        return scenario

    def trigger(self, value: Any, path: Path) -> Trigger:
        if isinstance(value, str):
            value = {"event": value}
        data = self.mapping(value, path, TRIGGER_KEYS, "trigger")
        if data and "event" not in data:
            self.fail(path, "trigger needs an event", "e.g. trigger: {event: cart_updated}")
        per = data.get("per")
        if per in ("customer", None):
            per = None
        else:
            per = self.text(
                per,
                path + ("per",),
                "per",
                _PATH,
                "name a field of the trigger data, e.g. cart.id, or 'customer'",
            )
        return Trigger(
            event=self.text(
                data.get("event", "x"),
                path + ("event",),
                "event name",
                _EVENT,
                "event names are lower_snake_case, e.g. cart_updated",
            ),
            when=self.condition(data.get("when"), path + ("when",)),
            per=per,
            again=self.choice(
                data.get("again", "restart"),
                path + ("again",),
                "again",
                ("restart", "ignore", "signal"),
            ),
        )

    def matches(self, value: Any, path: Path, what: str) -> list[EventMatch]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            p = path + (i,) if isinstance(value, list) else path
            if isinstance(item, str):
                item = {"event": item}
            data = self.mapping(item, p, MATCH_KEYS, what)
            if data and "event" not in data:
                self.fail(p, f"{what} needs an event", f"e.g. {what}: {{event: order_placed}}")
            out.append(
                EventMatch(
                    event=self.text(
                        data.get("event", "x"),
                        p + ("event",),
                        "event name",
                        _EVENT,
                        "event names are lower_snake_case, e.g. order_placed",
                    ),
                    when=self.condition(data.get("when"), p + ("when",)),
                )
            )
        return out

    def condition(self, value: Any, path: Path) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return self.text(
            value, path, "condition", hint="write a Jinja2 expression, e.g. cart.total > 0"
        )

    def reactions(self, value: Any, path: Path) -> list[str]:
        items = value if isinstance(value, list) else [value]
        return [self.choice(v, path, "reaction", REACTIONS) for v in items]

    def quiet_hours(self, value: Any, path: Path) -> QuietHours | None:
        data = (
            {"window": value}
            if isinstance(value, str)
            else self.mapping(value, path, QUIET_KEYS, "quiet_hours")
        )
        window = data.get("window")
        try:
            start, end = parse_window(str(window) if window is not None else "")
        except PolicyError as exc:
            self.fail(
                path + ("window",) if not isinstance(value, str) else path, str(exc), exc.hint
            )
            return None
        action = self.choice(
            data.get("action", "wait"), path + ("action",), "action", ("wait", "skip")
        )
        return QuietHours(start=start.strftime("%H:%M"), end=end.strftime("%H:%M"), action=action)

    # -- steps -----------------------------------------------------------------------------
    def steps(self, value: Any, path: Path, label: str) -> list[Step]:
        if not isinstance(value, list) or not value:
            self.fail(
                path,
                f"{path[-1]} must be a non-empty list of steps",
                "each step starts with '- ', e.g. '- wait: 1h'",
            )
            return []
        return [self.step(item, path + (i,), f"{label}.{i + 1}") for i, item in enumerate(value)]

    def step(self, value: Any, path: Path, label: str) -> Step:
        line = self.doc.where(path)[0]
        if not isinstance(value, dict) or not value:
            self.fail(
                path,
                f"a step must be a mapping, not {_kind(value)}",
                f"start a step with one of: {', '.join(STEP_KEYS)}",
            )
            return Step(kind="invalid", path=label, line=line)
        kinds = [k for k in value if k in STEP_KEYS]
        if len(kinds) != 1:
            first = next(iter(value))
            hint = (
                did_you_mean(first, tuple(STEP_KEYS))
                if not kinds
                else "split them into separate '- ' steps"
            )
            self.fail(
                path,
                f"a step needs exactly one of {', '.join(STEP_KEYS)}; found "
                f"{', '.join(kinds) or repr(first)}",
                hint,
                key=not kinds,
            )
            return Step(kind="invalid", path=label, line=line)
        kind = kinds[0]
        self.mapping(value, path, STEP_KEYS[kind], f"a {kind} step")
        step = Step(kind=kind, path=label, line=line)
        arg = value[kind]
        p = path + (kind,)
        if kind == "wait":
            step.wait_s = self.duration(arg, p, "wait")
        elif kind == "wait_until":
            text = self.text(arg, p, "wait_until", hint="e.g. webinar.starts_at - 24h")
            try:
                step.at, step.at_offset_s = split_time_expression(text)
            except ExpressionError as exc:
                self.fail(p, f"wait_until: {exc}", "e.g. webinar.starts_at - 24h")
            step.late = self.choice(
                value.get("late", "skip"), path + ("late",), "late", ("skip", "send")
            )
        elif kind == "send":
            self.send(arg, p, step)
        elif kind == "escalate":
            self.escalate(arg, p, step)
        elif kind == "if":
            step.condition = self.condition(arg, p)
            step.then = self.steps(value.get("then"), path + ("then",), f"{label}.then")
            if "else" in value:
                step.otherwise = self.steps(value["else"], path + ("else",), f"{label}.else")
        elif kind == "wait_for":
            data = self.mapping(arg, p, WAIT_FOR_KEYS, "wait_for")
            events = data.get("event")
            names = events if isinstance(events, list) else [events]
            step.events = [
                EventMatch(
                    self.text(n, p + ("event",), "event name", _EVENT, "e.g. event: order_placed"),
                    self.condition(data.get("when"), p + ("when",)),
                )
                for n in names
            ]
            if "timeout" not in data:
                self.fail(
                    p, "wait_for needs a timeout", "e.g. timeout: 3d; a run must not wait forever"
                )
            step.timeout_s = self.duration(data.get("timeout", "1s"), p + ("timeout",), "timeout")
            if "on_event" in value:
                step.on_event = self.steps(
                    value["on_event"], path + ("on_event",), f"{label}.on_event"
                )
            if "on_timeout" in value:
                step.on_timeout = self.steps(
                    value["on_timeout"], path + ("on_timeout",), f"{label}.on_timeout"
                )
        elif kind == "stop":
            step.reason = str(arg) if arg is not None else "stopped"
        return step

    def send(self, arg: Any, path: Path, step: Step) -> None:
        allowed = (*CHANNELS, "first_of", "template")
        data = self.mapping(arg, path, allowed, "send")
        if "first_of" in data:
            chans = data["first_of"]
            if not isinstance(chans, list) or not chans:
                self.fail(
                    path + ("first_of",), "first_of must list channels", "e.g. [telegram, sms]"
                )
                chans = []
            step.channels = [
                self.choice(c, path + ("first_of", i), "channel", CHANNELS)
                for i, c in enumerate(chans)
            ]
            step.template = self.template(data.get("template"), path + ("template",))
            extra = [k for k in data if k in CHANNELS]
            if extra:
                self.fail(path, f"send has both first_of and {extra[0]}", "use one form")
        else:
            chans = [k for k in data if k in CHANNELS]
            if len(chans) != 1 or "template" in data:
                self.fail(
                    path,
                    "send names one channel and its template",
                    "e.g. send: {email: welcome/hello} or "
                    "send: {first_of: [telegram, sms], template: webinar/started}",
                )
            if chans:
                step.channels = [chans[0]]
                step.template = self.template(data[chans[0]], path + (chans[0],))

    def escalate(self, arg: Any, path: Path, step: Step) -> None:
        if not isinstance(arg, list) or not arg:
            self.fail(
                path,
                "escalate must list its rungs",
                "e.g. '- email: cart/reminder' with 'wait: 4h', then '- sms: cart/last_call'",
            )
            return
        for i, rung in enumerate(arg):
            p = path + (i,)
            data = self.mapping(rung, p, (*CHANNELS, "wait"), "an escalate rung")
            chans = [k for k in data if k in CHANNELS]
            if len(chans) != 1:
                self.fail(
                    p,
                    "each rung names exactly one channel and its template",
                    "e.g. '- push: abandoned_cart/reminder' with 'wait: 2h' under it",
                )
                continue
            wait = self.duration(data["wait"], p + ("wait",), "wait") if "wait" in data else None
            if wait is None and i < len(arg) - 1:
                self.fail(
                    p,
                    "every rung but the last needs a wait for the reaction",
                    "add e.g. 'wait: 4h' to this rung",
                )
            step.rungs.append(Rung(chans[0], self.template(data[chans[0]], p + (chans[0],)), wait))

    def template(self, value: Any, path: Path) -> str:
        return self.text(
            value,
            path,
            "template name",
            _TEMPLATE,
            "name it folder/message, e.g. abandoned_cart/reminder",
        )


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: f"text {value!r}"}
    return names.get(type(value), f"{type(value).__name__} {value!r}")

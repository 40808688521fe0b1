"""Steps: wait, wait_until, send, escalate, if, wait_for and stop."""

from __future__ import annotations

from typing import Any

from orchestrator.language.best_time import BEST_TIME_KEYS, parse_best_time
from orchestrator.language.digest import parse_collect
from orchestrator.language.expressions import ExpressionError, split_time_expression
from orchestrator.language.localtime import LocalTimeError, parse_clock
from orchestrator.language.model import (
    CHANNELS,
    EventMatch,
    Rung,
    Step,
)
from orchestrator.language.names import NAME_MAX
from orchestrator.language.parse_base import (
    EVENT_FORM,
    LOCAL_TIME_KEYS,
    STEP_KEYS,
    TEMPLATE_FORM,
    WAIT_FOR_KEYS,
    did_you_mean,
    kind_of,
)
from orchestrator.language.parse_learning import LearningParser
from orchestrator.language.yaml_source import Path


class StepParser(LearningParser):
    # -- steps ---------------------------------------------------------------------------
    def steps(self, value: Any, path: Path, label: str) -> list[Step]:
        if not isinstance(value, list) or not value:
            self.fail(
                path,
                f"{path[-1]} must be a non-empty list of steps",
                "each step starts with '- ', e.g. '- wait: 1h'",
            )
            return []
        return [self.step(item, path + (i,), f"{label}.{i + 1}") for i, item in enumerate(value)]

    def answers_at_once(self, steps: list[Step], spread: bool) -> None:
        """``quiet_hours: ignore`` only on a send that answers the trigger at once: a top-level
        send with nothing but sends before it, in a run that starts with its event."""
        waited = ""
        for top in steps:
            for step in [top, *self.nested(top)]:
                if step.quiet_hours != "ignore":
                    continue
                where = self.spots[(id(step), "quiet_hours")]
                if step is not top or waited or spread:
                    if step is not top:
                        why = f"it is inside {top.path} ({top.kind})"
                    elif waited:
                        why = f"{waited} comes before it"
                    else:
                        why = "trigger.spread delays the run's start"
                    self.fail(
                        where,
                        "quiet_hours: ignore is for a send that answers the trigger at once; "
                        + why,
                        "keep it on the sends before the first wait, at the top of steps",
                    )
            if top.kind != "send":
                waited = waited or f"{top.path} ({top.kind})"

    def nested(self, step: Step) -> list[Step]:
        out: list[Step] = []
        for inner in step.branches():
            out += [inner, *self.nested(inner)]
        return out

    def step(self, value: Any, path: Path, label: str) -> Step:
        line = self.doc.where(path)[0]
        if not isinstance(value, dict) or not value:
            self.fail(
                path,
                f"a step must be a mapping, not {kind_of(value)}",
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
        if "name" in value:
            step.name = self.step_name(value["name"], path + ("name",))
        arg = value[kind]
        p = path + (kind,)
        if kind == "wait":
            step.wait_s = self.duration(arg, p, "wait")
        elif kind == "wait_until" and isinstance(arg, dict):
            self.local_time(arg, p, step)
            step.late = self.choice(
                value.get("late", "skip"), path + ("late",), "late", ("skip", "send")
            )
        elif kind == "wait_until":
            self.spot(step, "at", p)
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
            step.quiet_hours = self.choice(
                value.get("quiet_hours", "apply"),
                path + ("quiet_hours",),
                "quiet_hours",
                ("apply", "ignore"),
            )
            self.spot(step, "quiet_hours", path + ("quiet_hours",))
            step.best_time = parse_best_time(self, value, path)
        elif kind == "escalate":
            self.escalate(arg, p, step)
            self.ladder_options(value, path, step)
        elif kind == "split":
            self.split(arg, p, step)
        elif kind == "if":
            step.condition = self.condition(arg, p)
            self.spot(step, "condition", p)
            step.then = self.steps(value.get("then"), path + ("then",), f"{label}.then")
            if "else" in value:
                step.otherwise = self.steps(value["else"], path + ("else",), f"{label}.else")
        elif kind == "wait_for":
            data = self.mapping(arg, p, WAIT_FOR_KEYS, "wait_for")
            events = data.get("event")
            names = events if isinstance(events, list) else [events]
            step.events = [
                EventMatch(
                    self.text(
                        n, p + ("event",), "event name", EVENT_FORM, "e.g. event: order_placed"
                    ),
                    self.condition(data.get("when"), p + ("when",)),
                )
                for n in names
            ]
            for i, match in enumerate(step.events):
                self.spot(match, "when", p + ("when",))
                self.spot(
                    match, "event", p + ("event", i) if isinstance(events, list) else p + ("event",)
                )
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
        elif kind == "collect":
            parse_collect(self, arg, p, step)
        elif kind == "stop":
            step.reason = str(arg) if arg is not None else "stopped"
        return step

    def step_name(self, value: Any, path: Path) -> str:
        """``name: Reminder ladder``: one line of text, short enough for a diagram box."""
        hint = f"e.g. name: Reminder ladder (one line, at most {NAME_MAX} characters)"
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"name must be text, not {kind_of(value)}", hint)
            return ""
        text = " ".join(value.split())
        if "\n" in value.strip():
            self.fail(path, "name must fit on one line", hint)
        elif len(text) > NAME_MAX:
            self.fail(path, f"name is {len(text)} characters long; at most {NAME_MAX}", hint)
        return text

    def local_time(self, arg: dict[str, Any], path: Path, step: Step) -> None:
        """``{time: "10:00", date: contact.attributes.birthday, days: -1}``."""
        data = self.mapping(arg, path, LOCAL_TIME_KEYS, "wait_until")
        hint = 'e.g. wait_until: {time: "10:00", date: contact.attributes.birthday}'
        if "time" not in data:
            self.fail(path, "wait_until needs a time of day", hint)
        try:
            step.at_time = parse_clock(data.get("time", "00:00")).strftime("%H:%M")
        except LocalTimeError as exc:
            self.fail(path + ("time",), f"wait_until: {exc}", hint)
            step.at_time = "00:00"
        if "date" in data:
            step.at = self.text(data["date"], path + ("date",), "date", hint=hint)
            self.spot(step, "at", path + ("date",))
        days = data.get("days", 0)
        if isinstance(days, bool) or not isinstance(days, int) or abs(days) > 366:
            self.fail(path + ("days",), f"days must be a whole number of days, not {days!r}", hint)
        else:
            step.at_days = days

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
            self.spot(step, "template", path + ("template",))
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
                self.spot(step, "template", path + (chans[0],))

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
            data = self.mapping(rung, p, (*CHANNELS, "wait", *BEST_TIME_KEYS), "an escalate rung")
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
            rung = Rung(chans[0], self.template(data[chans[0]], p + (chans[0],)), wait)
            rung.best_time = parse_best_time(self, data, p)
            self.spot(rung, "template", p + (chans[0],))
            step.rungs.append(rung)

    def template(self, value: Any, path: Path) -> str:
        return self.text(
            value,
            path,
            "template name",
            TEMPLATE_FORM,
            "name it folder/message, e.g. abandoned_cart/reminder",
        )

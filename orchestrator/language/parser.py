"""YAML data -> Scenario, collecting every problem with its position and a hint."""

from __future__ import annotations

from typing import Any

from orchestrator.language.best_time import check_best_times
from orchestrator.language.model import (
    MAX_SPREAD_S,
    REACTIONS,
    EventMatch,
    QuietHours,
    Scenario,
    Trigger,
)
from orchestrator.language.parse_base import (
    EVENT_FORM,
    ID_FORM,
    MATCH_KEYS,
    PATH_FORM,
    QUIET_KEYS,
    TOP_KEYS,
    TOPIC_FORM,
    TRIGGER_KEYS,
)
from orchestrator.language.parse_steps import StepParser
from orchestrator.language.policy_syntax import PolicyError, parse_cap, parse_window
from orchestrator.language.yaml_source import Path


class Parser(StepParser):
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
            ID_FORM,
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
            topic=self.text(
                data.get("topic", ""),
                ("topic",),
                "topic",
                TOPIC_FORM,
                "use lower_snake_case, e.g. cart_reminders",
            )
            if "topic" in data
            else "",
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
        self.answers_at_once(scenario.steps, bool(scenario.trigger.spread_s))
        check_best_times(self, scenario)
        self.experiment(data, scenario)
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
                PATH_FORM,
                "name a field of the trigger data, e.g. cart.id, or 'customer'",
            )
        trigger = Trigger(
            event=self.text(
                data["event"],
                path + ("event",),
                "event name",
                EVENT_FORM,
                "event names are lower_snake_case, e.g. cart_updated",
            )
            if "event" in data
            else "",
            when=self.condition(data.get("when"), path + ("when",)),
            per=per,
            again=self.choice(
                data.get("again", "restart"),
                path + ("again",),
                "again",
                ("restart", "ignore", "signal"),
            ),
        )
        if "cooldown" in data:
            trigger.cooldown_s = self.duration(data["cooldown"], path + ("cooldown",), "cooldown")
        if "spread" in data:
            trigger.spread_s = self.duration(data["spread"], path + ("spread",), "spread")
            if trigger.spread_s > MAX_SPREAD_S:
                self.fail(
                    path + ("spread",),
                    f"spread is at most {MAX_SPREAD_S // 3600}h: it delays every run's start",
                    "spread starts over minutes or a few hours, e.g. spread: 15m; "
                    "a longer delay is a wait step",
                )
        self.spot(trigger, "when", path + ("when",))
        self.spot(trigger, "per", path + ("per",))
        self.spot(trigger, "event", path + ("event",))
        return trigger

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
            match = EventMatch(
                event=self.text(
                    data.get("event", "x"),
                    p + ("event",),
                    "event name",
                    EVENT_FORM,
                    "event names are lower_snake_case, e.g. order_placed",
                ),
                when=self.condition(data.get("when"), p + ("when",)),
            )
            self.spot(match, "when", p + ("when",))
            self.spot(match, "event", p + ("event",))
            out.append(match)
        return out

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

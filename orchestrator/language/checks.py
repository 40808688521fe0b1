"""Checks beyond the shape of the YAML: templates, expressions against samples, reachability."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined

from orchestrator.language.check_learning import VALUE_HINT, value_problem
from orchestrator.language.digest import collected_sample
from orchestrator.language.errors import Problem
from orchestrator.language.expressions import (
    ExpressionError,
    check_syntax,
    condition_context,
    evaluate,
    holds,
    resolve_time,
)
from orchestrator.language.limits import TEMPLATE_LIMITS
from orchestrator.language.localtime import resolve_local
from orchestrator.language.model import Scenario, Step
from orchestrator.language.samples import sample_contact, sample_run
from orchestrator.language.templates import (
    TemplateProblem,
    message_context,
    outside_blocks,
    render,
    template_files,
)
from orchestrator.language.whatsapp_checks import check_whatsapp

NO_ENGAGEMENT = {"opened": False, "clicked": False, "replied": False}
LIMITS_HINT = (
    f"a message renders in at most {TEMPLATE_LIMITS.max_seconds:g} s, "
    f"{TEMPLATE_LIMITS.max_iterations:,} loop iterations and "
    f"{TEMPLATE_LIMITS.max_output:,} characters; no value may pass "
    f"{TEMPLATE_LIMITS.max_size:,} characters or items, "
    f"no number {TEMPLATE_LIMITS.max_int_bits} bits"
)


Locate = Callable[[object, str], "tuple[int, int] | None"]
Spot = tuple[int, int]
SAMPLE_HINT = (
    "add 'sample: {{{event}: {{...}}}}' with example data of that event; "
    "conditions and templates are checked against it"
)


class Checker:
    def __init__(
        self, scenario: Scenario, templates_dir: Path, locate: Locate | None = None
    ) -> None:
        self.s = scenario
        self.templates_dir = templates_dir
        self.locate = locate
        self.problems: list[Problem] = []
        self.trigger_sample: dict[str, Any] | None = scenario.samples.get(scenario.trigger.event)
        self.contact = sample_contact(scenario.samples)
        #: What templates see as ``collected``: the sample after a collect step.
        self.collected: list[dict[str, Any]] = []

    def at(self, obj: object, name: str, fallback: int = 1) -> Spot:
        """The line and column of ``obj.name``'s value in the scenario file."""
        found = self.locate(obj, name) if self.locate else None
        return found or (fallback, 1)

    def fail(self, spot: Spot | int, message: str, hint: str = "", file: str | None = None) -> None:
        line, column = (spot, 1) if isinstance(spot, int) else spot
        self.problems.append(Problem(file or self.s.source, line, column, message, hint))

    def run(self, trigger_line: int) -> list[Problem]:
        s = self.s
        if self.trigger_sample is None and s.trigger.event:
            self.fail(
                self.at(s.trigger, "event", trigger_line),
                f"no sample data for the trigger event {s.trigger.event!r}",
                SAMPLE_HINT.format(event=s.trigger.event),
            )
        where = self.at(s.trigger, "when", trigger_line)
        self.condition(s.trigger.when, where, self.trigger_sample, "trigger")
        if s.trigger.per and self.trigger_sample is not None:
            try:
                if isinstance(evaluate(s.trigger.per, dict(self.trigger_sample)), Undefined):
                    raise ExpressionError(f"{s.trigger.per} is missing in the trigger's sample")
            except ExpressionError as exc:
                self.fail(
                    self.at(s.trigger, "per", trigger_line),
                    f"per: {exc}",
                    "name a field present in the trigger data",
                )
        for what, matches in (("goal", s.goals), ("exit", s.exits)):
            for match in matches:
                self.match(match, what, trigger_line)
        self.steps(s.steps, self.trigger_sample)
        return self.problems

    def match(self, match: Any, what: str, line: int) -> None:
        """A goal, exit or wait_for condition reads its own event: that event needs a sample."""
        if not match.when:
            return
        sample = self.s.samples.get(match.event)
        if sample is None:
            self.fail(
                self.at(match, "event", line),
                f"{what} condition reads event {match.event!r}, which has no sample data, "
                "so the condition cannot be checked",
                SAMPLE_HINT.format(event=match.event),
            )
            return
        self.condition(match.when, self.at(match, "when", line), sample, f"{what} {match.event}")

    def context(self, event: dict[str, Any] | None) -> dict[str, Any] | None:
        if self.trigger_sample is None:
            return None
        return condition_context(
            event=event if event is not None else self.trigger_sample,
            trigger=self.trigger_sample,
            contact=self.contact,
            engagement=NO_ENGAGEMENT,
        )

    def condition(
        self, source: str | None, spot: Spot, event: dict[str, Any] | None, where: str
    ) -> None:
        if not source:
            return
        try:
            check_syntax(source)
            ctx = self.context(event)
            if ctx is not None and event is not None:
                holds(source, ctx)
        except ExpressionError as exc:
            if exc.lineno > 1 and isinstance(spot, tuple):
                spot = (spot[0] + exc.lineno - 1, spot[1])  # inside a multi-line `|` block
            self.fail(
                spot,
                f"{where} condition: {exc}",
                "conditions are Jinja2 expressions over the event data, trigger, contact "
                "and opened/clicked/replied/engaged; check names against 'sample:'",
            )

    def steps(self, steps: list[Step], event: dict[str, Any] | None) -> bool:
        """Check a list; returns True when it always ends the run (a stop on every path)."""
        for i, step in enumerate(steps):
            if self.step(step, event):
                if i + 1 < len(steps):
                    nxt = steps[i + 1]
                    self.fail(
                        nxt.line,
                        f"step {nxt.path} can never run: the run always stops before it",
                        "remove it, or move it before the stop",
                    )
                return True
        return False

    def step(self, step: Step, event: dict[str, Any] | None) -> bool:
        if step.kind == "stop":
            return True
        if step.kind == "collect":
            self.collected = collected_sample(self, step) or []
        if step.kind == "wait_until" and step.at_time:
            try:
                if step.at:
                    check_syntax(step.at)
                ctx = self.context(event)
                if ctx is not None:
                    tz = self.contact.get("timezone")
                    resolve_local(step.at_time, step.at, step.at_days, ctx, tz, datetime.now(UTC))
            except ExpressionError as exc:
                hint = "date names a timestamp or a YYYY-MM-DD date, e.g. webinar.starts_at"
                if "contact." in str(exc):
                    hint = (
                        "describe it in the sample contact, e.g. sample: {contact: "
                        "{attributes: {birthday: '1990-05-17'}}}"
                    )
                self.fail(self.at(step, "at", step.line), f"wait_until: {exc}", hint)
        elif step.kind == "wait_until" and step.at:
            try:
                check_syntax(step.at)
                ctx = self.context(event)
                if ctx is not None:
                    resolve_time(step.at, step.at_offset_s, ctx)
            except ExpressionError as exc:
                self.fail(
                    self.at(step, "at", step.line),
                    f"wait_until: {exc}",
                    "write a timestamp field plus or minus a duration, e.g. "
                    "webinar.starts_at - 24h",
                )
        refs: list[tuple[str, str | None, Spot]] = [
            (c, step.template, self.at(step, "template", step.line)) for c in step.channels
        ]
        refs += [(r.channel, r.template, self.at(r, "template", step.line)) for r in step.rungs]
        for channel, template, spot in refs:
            if template:
                self.template(template, channel, step, event, spot)
        if problem := value_problem(step, self.context(event)):
            self.fail(self.at(step, "value", step.line), problem, VALUE_HINT)
        if step.kind == "split":
            return all([self.steps(v.steps, event) for v in step.variants])
        if step.kind == "if":
            spot = self.at(step, "condition", step.line)
            self.condition(step.condition, spot, event, "if")
            always = step.condition in ("true", "false")
            if always:
                self.fail(
                    spot,
                    f"if: {step.condition} makes one branch unreachable",
                    "use a condition that depends on the run, or drop the if",
                )
            return self.steps(step.then, event) & (
                bool(step.otherwise) and self.steps(step.otherwise, event)
            )
        if step.kind == "wait_for":
            ends = []
            for match in step.events:
                self.match(match, "wait_for", step.line)
            sample = self.s.samples.get(step.events[0].event) if step.events else None
            ends.append(bool(step.on_event) and self.steps(step.on_event, sample or event))
            ends.append(bool(step.on_timeout) and self.steps(step.on_timeout, event))
            return all(ends)
        return False

    def template(
        self, name: str, channel: str, step: Step, event: dict[str, Any] | None, spot: Spot
    ) -> None:
        if channel == "whatsapp" and not check_whatsapp(self, name, step, event, spot):
            return  # no free text to check beside the approved template
        files = template_files(self.templates_dir, name, channel)
        if not files:
            self.fail(
                spot,
                f"template {name}/{channel}.j2 not found under {self.templates_dir}",
                f"create {self.templates_dir / name / channel}.j2",
            )
            return
        if "" not in files:
            variants = ", ".join(p.name for p in files.values())
            self.fail(
                spot,
                f"template {name} has locale variants ({variants}) but no "
                f"default {channel}.j2 to fall back to",
                f"add {self.templates_dir / name / channel}.j2 for other locales",
            )
        for path in files.values():
            with suppress(TemplateSyntaxError):  # reported when rendering below
                for line, what in outside_blocks(path.read_text(encoding="utf-8")):
                    hint = "move it into a {% block %}; only blocks are sent"
                    self.fail(line, f"{what} outside every block is never sent", hint, str(path))
        if self.trigger_sample is None:
            return
        for locale, path in files.items():
            contact = dict(self.contact, locale=locale or self.contact.get("locale") or "en")
            ctx = message_context(
                contact=contact,
                trigger=self.trigger_sample,
                event=event or self.trigger_sample,
                run=sample_run(self.s.id, step.path),
                timezone=contact["timezone"],
                link=lambda url: url,
                collected=self.collected,
            )
            try:
                render(
                    channel,
                    path.read_text(encoding="utf-8"),
                    ctx,
                    locale=locale,
                    filename=str(path),
                )
            except TemplateSyntaxError as exc:
                self.fail(
                    exc.lineno or 1,
                    f"template syntax error: {exc.message}",
                    "check {{ }} and {% %} pairs; blocks are {% block name %}...{% endblock %}",
                    file=str(path),
                )
            except TemplateProblem as exc:
                if exc.limit:
                    self.fail(
                        exc.line,
                        f"template goes past its {exc.limit} limit with the sample context: {exc}",
                        LIMITS_HINT,
                        file=str(path),
                    )
                    continue
                if "cannot access" in str(exc):
                    hint = "templates read data values only; Python internals are off limits"
                    self.fail(exc.line, f"template: {exc}", hint, str(path))
                    continue
                self.fail(
                    exc.line,
                    f"template cannot render with the sample context: {exc}",
                    "variables are contact, trigger fields (e.g. cart), event, run and "
                    "money/date/link (absolute http(s) URLs only); add missing data to the "
                    "scenario's 'sample:'",
                    file=str(path),
                )

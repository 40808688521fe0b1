"""The ``collect`` step (a digest): its syntax and its checks against the samples.

``- collect: {event: price_dropped, for: 30m, max: 20, key: product.id}`` gathers this
customer's ``price_dropped`` events for 30 minutes (fewer when 20 distinct products came in
sooner) and hands the sends after it ``collected``: the events' data, newest first, one item per
``product.id``. The trigger event, when it is of that name, is the first item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jinja2 import Undefined

from orchestrator.language.expressions import ExpressionError, evaluate
from orchestrator.language.model import MAX_COLLECT, Collect, Scenario, Step, iter_steps
from orchestrator.language.parse_base import COLLECT_KEYS, EVENT_FORM, PATH_FORM

if TYPE_CHECKING:
    from orchestrator.language.checks import Checker
    from orchestrator.language.parse_steps import StepParser
    from orchestrator.language.yaml_source import Path

#: The longest digest window: a run holds its customer's events meanwhile.
MAX_WINDOW_S = 7 * 24 * 3600
HINT = "e.g. collect: {event: price_dropped, for: 30m, max: 20, key: product.id}"


def parse_collect(parser: StepParser, arg: Any, path: Path, step: Step) -> None:
    data = parser.mapping(arg, path, COLLECT_KEYS, "collect")
    if "event" not in data or "for" not in data:
        parser.fail(path, "collect needs an event and a window ('for')", HINT)
    event = parser.text(data.get("event", "x"), path + ("event",), "event name", EVENT_FORM, HINT)
    window = parser.duration(data.get("for", "1s"), path + ("for",), "for")
    if window > MAX_WINDOW_S:
        parser.fail(path + ("for",), "for: a digest window is at most 7d", HINT)
    most = data.get("max", 20)
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MAX_COLLECT:
        parser.fail(
            path + ("max",),
            f"max must be a whole number from 1 to {MAX_COLLECT}, not {most!r}",
            "one message lists at most that many items; e.g. max: 20",
        )
        most = 20
    key = None
    if "key" in data:
        key = parser.text(data["key"], path + ("key",), "key", PATH_FORM, "e.g. key: product.id")
    step.collect = Collect(event=event, window_s=window, max=most, key=key)
    parser.spot(step.collect, "event", path + ("event",))
    parser.spot(step.collect, "key", path + ("key",) if "key" in data else path)


def collected_sample(checker: Checker, step: Step) -> list[dict[str, Any]] | None:
    """Check a collect step against the scenario; the sample ``collected`` the templates after
    it render with (None: its event has no sample)."""
    c, s = step.collect, checker.s
    assert c is not None
    where = checker.at(c, "event", step.line)
    sample = s.samples.get(c.event)
    if sample is None:
        known = sorted(set(s.samples) - {"contact"})
        checker.fail(
            where,
            f"collect: unknown event {c.event!r}: no sample data describes it"
            + (f" (events with samples: {', '.join(known)})" if known else ""),
            f"add 'sample: {{{c.event}: {{...}}}}' with example data; the digest's templates "
            "are checked against it",
        )
        return None
    if c.event == s.trigger.event and s.trigger.again != "signal":
        checker.fail(
            where,
            f"collect: later {c.event!r} events would {s.trigger.again} the run "
            f"(trigger.again: {s.trigger.again}) instead of reaching the digest",
            f"write trigger: {{event: {c.event}, again: signal}}",
        )
    if c.key is not None and _missing(c.key, sample):
        checker.fail(
            checker.at(c, "key", step.line),
            f"collect: key {c.key!r} is not in the sample data of {c.event!r}",
            "name a field every such event has, e.g. key: product.id",
        )
    return [sample]


def _missing(path: str, data: dict[str, Any]) -> bool:
    try:
        return isinstance(evaluate(path, dict(data)), Undefined)
    except ExpressionError:
        return True


COLLECT_DOC = (
    "A digest: gather this customer's events of one name for a while; the sends after it "
    "list them as `collected` (newest first, one per key)"
)


def collect_arg(event_pattern: str, duration: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of ``collect:``'s argument (``omni schema``)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["event", "for"],
        "properties": {
            "event": {"type": "string", "pattern": event_pattern},
            "for": {**duration, "description": "the window, e.g. 30m (at most 7d)"},
            "max": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_COLLECT,
                "description": "the window closes early at this many items (default 20)",
            },
            "key": {
                "type": "string",
                "description": "one item per value of this field, the newest, e.g. product.id",
            },
        },
        "description": HINT,
    }


def sample_collected(scenario: Scenario) -> list[dict[str, Any]]:
    """``collected`` for previews and size reports: the first collect step's event sample
    (validation renders each template with what its own place in the steps sees)."""
    for step in iter_steps(scenario.steps):
        if step.collect is not None and step.collect.event in scenario.samples:
            return [scenario.samples[step.collect.event]]
    return []

"""Event contracts: which fields of each event a scenario's templates (WhatsApp's variables
too) and conditions read.

The shape comes from ``sample:``: a path the scenario reads (found by walking the Jinja2 syntax
of every template and condition, loops included) that the sample has is part of the contract.
``POST /v1/events`` checks incoming data against it, so a shop's developer learns at
integration time that ``cart.items[0].qty`` is missing, not from a silent template skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from orchestrator.language.model import Scenario, iter_steps
from orchestrator.language.sandbox import LimitedEnvironment

_ENV = LimitedEnvironment(autoescape=False)
EACH = "[]"  # a path element: every item of a list
Field = tuple[str | int, ...]


@dataclass(frozen=True)
class Need:
    event: str
    path: Field
    user: str  # "abandoned_cart/reminder email", "abandoned_cart goal"


def _paths(ast: nodes.Node, roots: dict[str, Field]) -> set[Field]:
    """Data paths an expression or template reads, relative to the event data."""
    found: set[Field] = set()
    scope = dict(roots)

    def path_of(node: nodes.Node) -> Field | None:
        if isinstance(node, nodes.Name):
            return scope.get(node.name)
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node)
            return None if base is None else base + (node.attr,)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = path_of(node.node)
            key = node.arg.value
            return None if base is None or not isinstance(key, (str, int)) else base + (key,)
        return None

    def visit(node: nodes.Node) -> None:
        if isinstance(node, nodes.For) and isinstance(node.target, nodes.Name):
            visit(node.iter)
            base = path_of(node.iter)
            if base is not None:
                scope[node.target.name] = base + (EACH,)
            for child in node.body + node.else_:
                visit(child)
            if node.test is not None:
                visit(node.test)
            return
        path = path_of(node)
        if path is not None and path:
            found.add(path)
            if isinstance(node, (nodes.Getattr, nodes.Getitem)):
                return
        for child in node.iter_child_nodes():
            visit(child)

    visit(ast)
    # Keep the longest paths: ``cart.items[].qty`` says more than ``cart.items``.
    return {p for p in found if not any(q != p and q[: len(p)] == p for q in found)}


def _roots(sample: dict[str, Any], *, trigger: bool) -> dict[str, Field]:
    roots: dict[str, Field] = {name: (name,) for name in sample}
    roots["event"] = ()
    if trigger:
        roots["trigger"] = ()
    return roots


def _in_sample(sample: Any, path: Field) -> bool:
    """The sample has this path (lists: their first item stands for every item)."""
    for part in path:
        if isinstance(sample, list) and sample and part == EACH:
            sample = sample[0]
        elif isinstance(sample, dict) and part in sample:
            sample = sample[part]
        else:
            return False
    return True


def needs(scenario: Scenario) -> list[Need]:
    """Every field of every event this scenario reads that its sample has."""
    out: list[Need] = []
    trig = scenario.trigger.event

    def add(event: str, source: str, user: str, *, template: bool, trigger: bool) -> None:
        sample = scenario.samples.get(event)
        if sample is None:
            return
        try:
            ast = _ENV.parse(source) if template else _ENV.parse(f"{{{{ {source} }}}}")
        except TemplateSyntaxError:
            return
        for path in sorted(_paths(ast, _roots(sample, trigger=trigger)), key=str):
            if _in_sample(sample, path):
                out.append(Need(event, path, user))

    for name, locales in sorted(scenario.templates.items()):
        template, _, channel = name.rpartition("/")
        for source in locales.values():
            add(trig, source, f"{template} {channel}", template=True, trigger=True)
    for template, approved in sorted(scenario.content.items()):  # WhatsApp's variables
        for content in approved.values():
            for number, source in content.variables.items():
                user = f"{template} whatsapp variable {number}"
                add(trig, source, user, template=False, trigger=True)
    if scenario.trigger.when:
        add(trig, scenario.trigger.when, f"{scenario.id} trigger", template=False, trigger=True)
    if scenario.trigger.per:
        add(trig, scenario.trigger.per, f"{scenario.id} per", template=False, trigger=True)
    for what, matches in (("goal", scenario.goals), ("exit", scenario.exits)):
        for m in matches:
            if m.when:
                add(m.event, m.when, f"{scenario.id} {what}", template=False, trigger=False)
    for step in iter_steps(scenario.steps):
        for m in step.events:
            if m.when:
                add(m.event, m.when, f"{scenario.id} {step.path}", template=False, trigger=False)
        if step.kind == "wait_until" and step.at:
            add(trig, step.at, f"{scenario.id} {step.path}", template=False, trigger=True)
        if step.value:  # a costed ladder's value: the trigger's data, as in its templates
            add(trig, step.value, f"{scenario.id} {step.path} value", template=False, trigger=True)
    return list(dict.fromkeys(out))


def _show(path: Field) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _missing(data: Any, path: Field, done: Field = ()) -> Field | None:
    """The first concrete path (``cart.items[1].qty``) along ``path`` that data lacks."""
    if not path:
        return None
    part, rest = path[0], path[1:]
    if part == EACH:
        if not isinstance(data, list):
            return done
        for i, item in enumerate(data):
            gap = _missing(item, rest, done + (i,))
            if gap is not None:
                return gap
        return None
    if isinstance(data, dict) and part in data and data[part] is not None:
        return _missing(data[part], rest, done + (part,))
    if isinstance(data, list) and isinstance(part, int) and -len(data) <= part < len(data):
        return _missing(data[part], rest, done + (part,))
    return done + (part,)


def check_event(contract: list[Need], name: str, data: dict[str, Any]) -> list[str]:
    """Warnings for the fields of event ``name`` that its users would not find in ``data``."""
    warnings: list[str] = []
    for need in contract:
        if need.event != name:
            continue
        gap = _missing(data, need.path)
        if gap is not None:
            warning = f"{_show(gap)} missing, needed by {need.user}"
            if warning not in warnings:
                warnings.append(warning)
    return warnings

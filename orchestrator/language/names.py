"""Steps in the marketer's words: a step's ``name:`` when the scenario gives one, otherwise a
name derived from what the step does ("Wait 1 h", "Wait until 24 h before
webinar.starts_at", "Reminder ladder · 2. push"). The console and the Temporal UI show these;
internal paths (``steps.2.rung1``) stay for engineers, in tooltips and data attributes.

Pure functions of the validated model: workflow code may call them.
"""

from __future__ import annotations

from orchestrator.language.model import Scenario, Step, iter_steps

#: The longest ``name:`` a step may have: it has to fit a diagram box and a table cell.
NAME_MAX = 60
_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def spoken_duration(seconds: float | None) -> str:
    """86400 -> ``24 h``; 266400 -> ``3 d 2 h``; 0 -> ``0 s``."""
    total = abs(int(seconds or 0))
    parts = []
    # "24 h before" reads as written; days start at two of them.
    for unit, size in _UNITS if total >= 2 * 86400 else _UNITS[1:]:
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"


def moment(expression: str, offset_s: int) -> str:
    """``webinar.starts_at`` with -86400 -> ``24 h before webinar.starts_at``."""
    if not offset_s:
        return expression
    side = "before" if offset_s < 0 else "after"
    return f"{spoken_duration(offset_s)} {side} {expression}"


def _days(days: int) -> str:
    return f"{abs(days)} day{'s' if abs(days) != 1 else ''} {'before' if days < 0 else 'after'}"


def derived_name(step: Step) -> str:
    """What the step does, in a few words (the name a step without ``name:`` gets)."""
    if step.kind == "wait":
        return f"Wait {spoken_duration(step.wait_s)}"
    if step.kind == "wait_until" and step.at_time:
        when = f"{step.at_time} local time"
        if step.at:
            when += f", {_days(step.at_days)} {step.at}" if step.at_days else f" on {step.at}"
        elif step.at_days:
            when += f", {_days(step.at_days)} today"
        return f"Wait until {when}"
    if step.kind == "wait_until":
        return f"Wait until {moment(step.at or '', step.at_offset_s)}"
    if step.kind == "send":
        many = "first of " + ", ".join(step.channels)
        how = step.channels[0] if len(step.channels) == 1 else many
        return f"Send {how}: {step.template}"
    if step.kind == "escalate":
        return "Ladder: " + " → ".join(r.channel for r in step.rungs)
    if step.kind == "split":
        return "Split: " + " | ".join(v.name for v in step.variants)
    if step.kind == "if":
        return f"If {step.condition}"
    if step.kind == "wait_for":
        names = " or ".join(m.event for m in step.events)
        return f"Wait up to {spoken_duration(step.timeout_s)} for {names}"
    if step.kind == "stop":
        return f"Stop: {step.reason or 'stopped'}"
    return step.kind


def step_name(step: Step) -> str:
    return step.name or derived_name(step)


def rung_name(step: Step, index: int) -> str:
    """The ladder's name and the rung: ``Reminder ladder · 2. push`` (index counts from 0)."""
    ladder = step.name or "Ladder"
    return f"{ladder} · {index + 1}. {step.rungs[index].channel}"


def names_by_path(scenario: Scenario) -> dict[str, str]:
    """Every step path the send log and the diagram use -> its name (rungs included)."""
    names = {"trigger": f"Trigger: {scenario.trigger.event}"}
    for step in iter_steps(scenario.steps):
        names[step.path] = step_name(step)
        for i in range(len(step.rungs)):
            names[f"{step.path}.rung{i + 1}"] = rung_name(step, i)
    return names

"""Readable words for the Temporal UI: step labels (``OmniStep``), timer summaries, the run's
static summary and its current details in Markdown. Pure functions: workflow code calls them.

Never PII: a customer appears only as ``customer_ref`` and templates by name, never rendered.
"""

from __future__ import annotations

from orchestrator.engine.ids import customer_ref
from orchestrator.language.durations import format_duration
from orchestrator.language.model import Scenario, Step
from orchestrator.language.names import rung_name, spoken_duration, step_name

__all__ = ["rung_name", "spoken_duration", "step_name"]

#: Temporal limits a summary to a few hundred bytes; keep ours short.
SUMMARY_MAX = 200


def _short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration(seconds: float | None) -> str:
    return format_duration(seconds or 0)


def step_label(step: Step) -> str:
    """``wait 1h``, ``send email: welcome/hello``, ``ladder: email → push``… The value of
    ``OmniStep`` in runs of revision 0: kept as it was, since those histories replay it.
    People read ``step_name`` (the marketer's ``name:`` or a derived one) instead."""
    if step.kind == "wait":
        label = f"wait {duration(step.wait_s)}"
    elif step.kind == "wait_until":
        label = f"wait until {step.at}"
    elif step.kind == "send":
        label = f"send {' or '.join(step.channels)}: {step.template}"
    elif step.kind == "escalate":
        how = " (learned order)" if step.order == "learned" else ""
        label = f"ladder{how}: " + " → ".join(r.channel for r in step.rungs)
    elif step.kind == "split":
        label = "split: " + " | ".join(v.name for v in step.variants)
    elif step.kind == "if":
        label = f"if {step.condition}"
    elif step.kind == "wait_for":
        names = " or ".join(m.event for m in step.events)
        label = f"wait up to {duration(step.timeout_s)} for {names}"
    elif step.kind == "stop":
        label = f"stop: {step.reason or 'stopped'}"
    elif step.kind == "collect" and step.collect is not None:
        label = f"collect {step.collect.event} for {duration(step.collect.window_s)}"
    else:
        label = step.kind
    return _short(label, 100)


def rung_label(index: int, channel: str) -> str:
    """``ladder rung 2: push`` (index counts from 0)."""
    return f"ladder rung {index + 1}: {channel}"


def reaction_wait(seconds: float, rung: str) -> str:
    """A timer's summary: ``Wait 4 h for a reaction to Reminder ladder · 1. email``."""
    return f"Wait {spoken_duration(seconds)} for a reaction to {rung}"


def static_summary(scenario: Scenario, customer_id: str, run_key: str) -> str:
    """One line for the run list: scenario title, customer reference, run key."""
    title = scenario.title or scenario.id
    return _short(f"{title} · customer {customer_ref(customer_id)} · key {run_key}")


def static_details(scenario: Scenario, customer_id: str, run_key: str) -> str:
    """Markdown for the run page: what this run is and which version it executes (the
    customer and the run key are in the summary beside it: history is paid by the byte)."""
    lines = [
        f"**{scenario.title or scenario.id}** (`{scenario.id}`, version `{scenario.version}`)",
        "",
        f"- trigger: `{scenario.trigger.event}`"
        + (
            f", starts spread over {duration(spread)}"
            if (spread := scenario.trigger.spread_s)
            else ""
        ),
        "- steps: " + "; ".join(step_name(s) for s in scenario.steps),
    ]
    if scenario.description:
        lines += ["", scenario.description.strip()]
    return "\n".join(lines)


def current_details(doing: str, *, next_: str = "", sent: list[str] | None = None) -> str:
    """``waiting up to 4h for a reaction to email `t` · next: push · sent so far: email``."""
    parts = [doing]
    if next_:
        parts.append(f"next: {next_}")
    parts.append("sent so far: " + (", ".join(sent) if sent else "nothing"))
    return " · ".join(parts)

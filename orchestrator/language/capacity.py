"""Does a scenario's own message plan fit its frequency caps?

A ladder that sends four messages within a day under "3 per 1d" can never reach its last rung:
the cap the scenario declares (or the shop-wide policy) skips it. This finds such plans before
they run, following the path on which nobody reacts (the one that sends the most).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.language.durations import format_duration
from orchestrator.language.model import FrequencyCap, Scenario, Step


@dataclass(frozen=True)
class PlannedSend:
    at_s: int
    channel: str
    step: str


def planned_sends(steps: list[Step], start_s: int = 0) -> tuple[list[PlannedSend], int]:
    """Sends on the no-reaction path, with their offsets from the start; and the end offset.

    A ``send`` counts once (first_of sends on one channel), every rung counts: the worst case
    for caps. Branches take the arm that sends more; ``wait_until`` adds nothing (its moment
    depends on the data)."""
    sends: list[PlannedSend] = []
    at = start_s
    for step in steps:
        if step.kind == "wait":
            at += step.wait_s or 0
        elif step.kind == "send":
            sends.extend(PlannedSend(at, c, step.path) for c in step.channels[:1])
        elif step.kind == "escalate":
            for i, rung in enumerate(step.rungs):
                sends.append(PlannedSend(at, rung.channel, f"{step.path}.rung{i + 1}"))
                at += rung.wait_s or 0
        elif step.kind in ("if", "wait_for", "split"):
            if step.kind == "wait_for":
                at += step.timeout_s or 0
            arms = {
                "if": [step.then, step.otherwise],
                "wait_for": [step.on_event, step.on_timeout],
                "split": [v.steps for v in step.variants],
            }[step.kind]
            best: tuple[list[PlannedSend], int] = ([], at)
            for arm in arms:
                found = planned_sends(arm, at)
                if len(found[0]) > len(best[0]):
                    best = found
            sends.extend(best[0])
            at = best[1]
    return sends, at


def cap_warnings(scenario: Scenario, policy: Iterable[FrequencyCap] = ()) -> list[str]:
    """One message per cap that the scenario's own no-reaction path breaks."""
    sends, _ = planned_sends(scenario.steps)
    warnings: list[str] = []
    caps = [(cap, "frequency_cap") for cap in scenario.frequency_caps]
    if scenario.category == "marketing":
        caps += [(cap, "the shop-wide policy") for cap in policy]
    for cap, origin in caps:
        counted = [s for s in sends if cap.channel is None or s.channel == cap.channel]
        for i, first in enumerate(counted):
            inside = [s for s in counted[i:] if s.at_s - first.at_s < cap.window_s]
            if len(inside) > cap.limit:
                blocked = inside[cap.limit]
                scope = f"{cap.channel} " if cap.channel else ""
                warnings.append(
                    f"{scenario.id}: {len(inside)} {scope}messages within "
                    f"{format_duration(cap.window_s)} but {origin} allows {cap.limit} "
                    f"per {format_duration(cap.window_s)}: {blocked.channel} at {blocked.step} "
                    "will be skipped for every customer who does not react"
                )
                break
    return warnings

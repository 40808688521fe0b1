"""What a scenario adds, for its page: treated vs held-out conversion, and each variant of a
split against the first, with the uplift, its 95% interval and the verdict
(``orchestrator.engine.uplift``). Conversion counts finished runs (converted / finished);
runs still open are shown apart and not counted yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.engine.experiments import HELD_OUT, HOLDOUT, TREATED
from orchestrator.engine.uplift import MIN_ARM, Comparison, compare, points, wilson
from orchestrator.language.model import Scenario, iter_steps
from orchestrator.store.arms import ArmCount, SqlArms


@dataclass
class ArmView:
    name: str
    finished: int
    converted: int
    running: int

    @property
    def rate(self) -> str:
        return f"{100 * self.converted / self.finished:.1f}%" if self.finished else "–"

    @property
    def interval(self) -> str:
        if not self.finished:
            return "–"
        low, high = wilson(self.converted, self.finished)
        return f"{100 * low:.1f}–{100 * high:.1f}%"


@dataclass
class VersusView:
    """One arm against a baseline arm."""

    arm: str
    baseline: str
    result: Comparison

    @property
    def uplift(self) -> str:
        return points(self.result.uplift)

    @property
    def interval(self) -> str:
        return f"{points(self.result.low)} to {points(self.result.high)}"


@dataclass
class ExperimentView:
    #: "holdout" or a split step's path.
    name: str
    title: str
    arms: list[ArmView] = field(default_factory=list)
    versus: list[VersusView] = field(default_factory=list)


def _arm(counts: dict[str, ArmCount], name: str) -> ArmView:
    c = counts.get(name, ArmCount("", name))
    return ArmView(name, c.finished, c.converted, c.running)


def _versus(arm: ArmView, base: ArmView, names: tuple[str, str]) -> VersusView:
    result = compare(arm.finished, arm.converted, base.finished, base.converted, names=names)
    return VersusView(arm.name, base.name, result)


def build(scenario: Scenario, found: list[ArmCount]) -> list[ExperimentView]:
    by: dict[str, dict[str, ArmCount]] = {}
    for c in found:
        by.setdefault(c.experiment, {})[c.arm] = c
    views = []
    if scenario.holdout_pct or HOLDOUT in by:
        counts = by.get(HOLDOUT, {})
        treated, out = _arm(counts, TREATED), _arm(counts, HELD_OUT)
        view = ExperimentView(
            HOLDOUT, f"Holdout: {scenario.holdout_pct:g}% of customers get nothing"
        )
        view.arms = [treated, out]
        view.versus = [_versus(treated, out, ("treated", "held out"))]
        views.append(view)
    for step in iter_steps(scenario.steps):
        if step.kind != "split":
            continue
        counts = by.get(step.path, {})
        arms = [_arm(counts, v.name) for v in step.variants]
        view = ExperimentView(
            step.path, f"Split at {step.path}: " + " | ".join(a.name for a in arms)
        )
        view.arms = arms
        view.versus = [_versus(a, arms[0], (a.name, arms[0].name)) for a in arms[1:]]
        views.append(view)
    return views


async def experiment_views(
    arms: SqlArms, scenario: Scenario, since: datetime, until: datetime, version: str = ""
) -> list[ExperimentView]:
    if not scenario.experiments():
        return []
    return build(scenario, await arms.counts(scenario.id, since, until, version))


#: Shown under the results: what the numbers can and cannot say.
NOTE = (
    f"Conversion is converted / finished runs started in the period; runs still open are not "
    f"counted yet. Intervals are 95% (Wilson per arm, Newcombe for the difference). Below "
    f"{MIN_ARM} finished runs in an arm, or when the interval includes 0, nothing is "
    f"concluded. The sequential test may be read at every visit without inflating false "
    f"alarms."
)

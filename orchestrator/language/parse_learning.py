"""Parsing what a scenario learns and measures: a ladder's ``order``, ``cost`` and ``value``,
``split`` steps, and the scenario's ``holdout`` and ``goal_window``."""

from __future__ import annotations

from typing import Any

from orchestrator.language.experiment_syntax import (
    VARIANT_FORM,
    parse_cost,
    parse_share,
)
from orchestrator.language.model import CHANNELS, Scenario, Step, Variant
from orchestrator.language.parse_base import ParserBase
from orchestrator.language.policy_syntax import PolicyError
from orchestrator.language.yaml_source import Path

ORDERS = ("fixed", "learned")
VALUE_HINT = "name what one reaction is worth in the event data, e.g. value: cart.total"


class LearningParser(ParserBase):
    def steps(self, value: Any, path: Path, label: str) -> list[Step]:
        raise NotImplementedError  # StepParser's

    def ladder_options(self, value: dict[str, Any], path: Path, step: Step) -> None:
        """``order``, ``cost`` and ``value`` beside an ``escalate`` list (``path``: the step)."""
        if "order" in value:
            step.order = self.choice(value["order"], path + ("order",), "order", ORDERS)
        if step.order == "learned":
            for i, rung in enumerate(step.rungs):
                if rung.wait_s is None:
                    self.fail(
                        path + ("escalate", i),
                        "with order: learned every rung needs a wait: any rung may come "
                        "before another",
                        "add e.g. 'wait: 2h' to this rung too",
                    )
        if "value" in value:
            step.value = self.text(value["value"], path + ("value",), "value", hint=VALUE_HINT)
            self.spot(step, "value", path + ("value",))
        if "cost" not in value:
            return
        costs = value["cost"]
        p = path + ("cost",)
        if not isinstance(costs, dict) or not costs:
            self.fail(p, "cost must map channels to prices", "e.g. cost: {sms: 0.08 per segment}")
            return
        ladder = {r.channel for r in step.rungs}
        for channel, price in costs.items():
            if channel not in CHANNELS or channel not in ladder:
                self.fail(
                    p + (channel,),
                    f"cost names {channel!r}, which is not a rung of this ladder",
                    f"the ladder's channels: {', '.join(r.channel for r in step.rungs)}",
                    key=True,
                )
                continue
            try:
                step.costs[channel] = parse_cost(price, channel)
            except PolicyError as exc:
                self.fail(p + (channel,), f"cost of {channel}: {exc}", exc.hint)
        if step.value is None:
            self.fail(
                p,
                "a cost needs a value to weigh it against",
                VALUE_HINT + "; a rung is skipped when its reaction chance × value < cost",
            )

    def split(self, arg: Any, path: Path, step: Step) -> None:
        """``split: {short: [steps], long: [steps]}``: each customer takes one variant."""
        hint = "e.g. split: {short: [{send: {email: cart/short}}], long: [...]}"
        if not isinstance(arg, dict) or len(arg) < 2:
            self.fail(path, "split needs at least two named variants, each a list of steps", hint)
            return
        for name, steps in arg.items():
            if not isinstance(name, str) or not VARIANT_FORM.match(name):
                self.fail(
                    path + (name,),
                    f"variant name {name!r} has an invalid form",
                    "use lower_snake_case, e.g. short or long_copy",
                    key=True,
                )
                continue
            step.variants.append(
                Variant(name, self.steps(steps, path + (name,), f"{step.path}.{name}"))
            )

    def experiment(self, data: dict[str, Any], scenario: Scenario) -> None:
        """``holdout: 10%`` and ``goal_window: 3d`` at the top of a scenario."""
        if "holdout" in data:
            try:
                scenario.holdout_pct = parse_share(data["holdout"])
            except PolicyError as exc:
                self.fail(("holdout",), str(exc), exc.hint)
        if "goal_window" in data:
            scenario.goal_window_s = self.duration(
                data["goal_window"], ("goal_window",), "goal_window"
            )
            if not scenario.experiments():
                self.fail(
                    ("goal_window",),
                    "goal_window applies to scenarios with a holdout or a split",
                    "add holdout: 10% (or a split step), or drop goal_window",
                )

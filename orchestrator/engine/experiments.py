"""Who is held out and who gets which variant: a stable hash, never randomness.

The same customer always lands in the same arm of the same scenario (and variant of the same
``split`` step), on every worker, in every run and after every restart, so an experiment needs
no stored assignment to stay consistent; the assignment is still recorded per run (the
``assign`` activity), because the console counts runs by what they actually did.

Holdout and variants hash with different salts, so being held out says nothing about the
variant a customer would get.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

HELD_OUT = "held_out"
TREATED = "treated"
#: The experiment name under which a run's holdout arm is recorded (splits use their step).
HOLDOUT = "holdout"


def bucket(*parts: str) -> float:
    """A number in [0, 1) that depends only on ``parts``."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(scenario_id: str, customer_id: str, share_pct: float) -> bool:
    return share_pct > 0 and bucket(HOLDOUT, scenario_id, customer_id) < share_pct / 100


def variant(scenario_id: str, step_path: str, customer_id: str, names: list[str]) -> str:
    """One of ``names``, equally likely, stable for this customer and split step."""
    return names[int(bucket("split", scenario_id, step_path, customer_id) * len(names))]


@dataclass
class Assignment:
    """A run's arms: held out or not, and step path -> variant of every ``split`` step."""

    held_out: bool = False
    variants: dict[str, str] = field(default_factory=dict)

    def arms(self, holdout: bool) -> dict[str, str]:
        """experiment -> arm, as recorded (``holdout`` only when the scenario has one). A
        held-out run sends no variant, so it counts for none: variants compare treated runs."""
        found = {HOLDOUT: HELD_OUT if self.held_out else TREATED} if holdout else {}
        return found if self.held_out else {**found, **self.variants}

    def describe(self, holdout_pct: float) -> str:
        parts = []
        if holdout_pct:
            parts.append(
                f"held out: sends nothing ({holdout_pct:g}% of customers)"
                if self.held_out
                else f"treated (holdout {holdout_pct:g}%)"
            )
        if not self.held_out:
            parts += [f"variant {name} at {path}" for path, name in self.variants.items()]
        return "; ".join(parts)


def assign(
    scenario_id: str, customer_id: str, holdout_pct: float, splits: dict[str, list[str]]
) -> Assignment:
    return Assignment(
        held_out(scenario_id, customer_id, holdout_pct),
        {path: variant(scenario_id, path, customer_id, names) for path, names in splits.items()},
    )

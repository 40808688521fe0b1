"""Dataclasses crossing the workflow boundary for learning and experiments (activity inputs and
results). New fields must get defaults so that recorded histories still replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.language.model import RungCost


@dataclass
class RankRequest:
    """Order a ladder's rungs (given by their channels, as written) for one customer."""

    customer_id: str
    channels: list[str]
    #: What counts as a reaction (the scenario's ``reaction``: opened, clicked, replied).
    kinds: list[str] = field(default_factory=list)


@dataclass
class RankResult:
    #: Rung indexes in the order to try them.
    order: list[int] = field(default_factory=list)
    #: channel -> estimated reaction chance.
    chances: dict[str, float] = field(default_factory=dict)
    explanation: str = ""


@dataclass
class RungCheck:
    """Is this rung worth its cost? Everything the send would render, and the ladder's terms."""

    key: str
    scenario: str
    category: str
    step: str
    channel: str
    template: str
    sources: dict[str, str]
    customer_id: str
    now: str
    run: dict[str, Any]
    trigger: dict[str, Any]
    event: dict[str, Any]
    cost: RungCost
    value: str
    kinds: list[str] = field(default_factory=list)
    run_ref: str = ""
    version: str = ""


@dataclass
class RungVerdict:
    skip: bool = False
    #: The numbers, for the timeline: ``cost: expected 0.004 x 42.00 = 0.17 < cost ...``.
    reason: str = ""
    #: Why the check could not be made (the rung is then sent as without a cost).
    problem: str = ""
    chance: float = 0.0
    value: float = 0.0
    cost: float = 0.0


@dataclass
class AssignRequest:
    scenario: str
    version: str
    workflow_id: str
    customer_id: str
    holdout_pct: float = 0.0
    #: step path -> variant names of every ``split`` step.
    splits: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class AssignResult:
    held_out: bool = False
    #: step path -> the variant this run takes.
    variants: dict[str, str] = field(default_factory=dict)
    #: For the timeline: "treated (holdout 10%); variant short at steps.3".
    description: str = ""

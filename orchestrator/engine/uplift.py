"""What a scenario adds: conversion of two arms, the difference and its 95% interval.

Pure Python (``statistics.NormalDist``), used by the console and ``bench/learning.py``.

- Each arm's conversion gets a **Wilson score interval**.
- The difference (treated minus control, in percentage points) gets **Newcombe's hybrid score
  interval** (Newcombe 1998, method 10), built from the two Wilson intervals. It keeps close to
  its nominal 95% coverage even with few conversions, where the textbook Wald interval does not.
- **Too small to conclude** is said when either arm has fewer than ``MIN_ARM`` finished runs, or
  when the interval includes zero (the data cannot tell a gain from a loss).
- An **always-valid sequential test** (mixture SPRT, normal approximation; Johari et al. 2017)
  may be read at every page view without inflating false positives: it calls a difference when
  its likelihood ratio passes 1/alpha = 20, whenever one looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)
#: Finished runs each arm needs before anything is concluded.
MIN_ARM = 50
#: The sequential test's mixing scale: effects of about this size (5 points) are found fastest.
MIXTURE_SD = 0.05
ALPHA = 0.05


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z) -> tuple[float, float, float]:
    """p1 - p2 and its hybrid score interval."""
    p1, p2 = (k1 / n1 if n1 else 0.0), (k2 / n2 if n2 else 0.0)
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    return (
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def sequential_ratio(k1: int, n1: int, k2: int, n2: int, tau: float = MIXTURE_SD) -> float:
    """The mixture likelihood ratio for "no difference"; >= 1/ALPHA rejects it, validly at any
    number of looks (normal approximation of the difference of two proportions)."""
    if not n1 or not n2:
        return 1.0
    p1, p2 = k1 / n1, k2 / n2
    v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if v <= 0:
        return 1.0
    d, t2 = p1 - p2, tau * tau
    return math.sqrt(v / (v + t2)) * math.exp(t2 * d * d / (2 * v * (v + t2)))


def points(x: float) -> str:
    """A difference of proportions in percentage points: ``+4.1``."""
    return f"{100 * x:+.1f}"


@dataclass(frozen=True)
class Comparison:
    treated: int
    treated_converted: int
    control: int
    control_converted: int
    uplift: float
    low: float
    high: float
    #: False: "too small to conclude".
    conclusive: bool
    verdict: str
    #: The sequential test passed its threshold (always valid).
    sequential: bool

    @property
    def treated_rate(self) -> float:
        return self.treated_converted / self.treated if self.treated else 0.0

    @property
    def control_rate(self) -> float:
        return self.control_converted / self.control if self.control else 0.0


def compare(
    treated: int,
    treated_converted: int,
    control: int,
    control_converted: int,
    *,
    min_arm: int = MIN_ARM,
    names: tuple[str, str] = ("treated", "held out"),
) -> Comparison:
    d, low, high = newcombe(treated_converted, treated, control_converted, control)
    ratio = sequential_ratio(treated_converted, treated, control_converted, control)
    interval = f"95% interval {points(low)} to {points(high)} points"
    if treated < min_arm or control < min_arm:
        verdict = (
            f"too small to conclude: each arm needs at least {min_arm} finished runs "
            f"({names[0]} {treated}, {names[1]} {control})"
        )
        conclusive = False
    elif low <= 0 <= high:
        verdict = f"too small to conclude: the {interval} includes no difference"
        conclusive = False
    else:
        gain = "adds" if d > 0 else "loses"
        verdict = f"{names[0]} {gain} {points(d)} points of conversion ({interval})"
        conclusive = True
    return Comparison(
        treated,
        treated_converted,
        control,
        control_converted,
        d,
        low,
        high,
        conclusive,
        verdict,
        treated >= min_arm and control >= min_arm and ratio >= 1 / ALPHA,
    )

"""Does sending at each customer's best time pay, against the simple ways and Iterable's?

    .venv/bin/python bench/send_time.py [--customers 20000] [--seed 7]

Synthetic customers in six time zones, whose hidden habits are known, get one message each,
triggered at a random moment of a week, under five policies with the same random draws (a
customer who would look at their inbox at 19:42 on Tuesday does so under every policy):

- **at once**: sent when triggered;
- **fixed 10:00**: the next 10:00 in the customer's zone (a marketer's usual send time);
- **Iterable-style**: with at least ``ITERABLE_MIN`` reactions of their own, the next
  occurrence of their most frequent reaction hour; else at once;
- **Omni**: ``orchestrator.engine.send_time.choose`` (the real decision, shrunk toward the
  shop's profile from the latest 5,000 reactions of everybody, within 24h);
- **oracle**: the next start of the customer's true current habit hour (they look at about
  its half past, give or take ``SIGMA_H``): an upper bound no policy can know.

The model, stated: a customer **looks** at their messages at half past their habit hour
(normal, sd ``SIGMA_H`` hours) on ``P_DAILY`` of days, and at ``RANDOM_PER_DAY`` random
moments a day between 07:00 and 23:00 local; a customer **without a habit** only at
``NO_HABIT_PER_DAY`` random moments. A message is seen at the first look after it arrives,
and gets a reaction with chance ``R0 · exp(-hours waited / TAU_H)`` (it sinks in the inbox).
Habit hours: 8h, 12h, 19h, 21h or 7h; 20% of the customers have none, 20% **drift** (their
habit moved 4-8 hours 45 days ago). Each has 0-40 past messages, sent by the shop at random
hours 9-20h over 90 days, whose reactions (the same model) make their history.

It prints per policy the reaction rate with its 95% Wilson interval and its difference from
"at once" (Newcombe's interval), the mean hours from trigger to reaction with a 95% bootstrap
interval, the mean hold; then the reaction rate by kind of customer, and Omni's rate for a few
prior strengths (why ``PRIOR_STRENGTH`` is what it is).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.engine.send_time import (  # noqa: E402
    PRIOR_STRENGTH,
    Reaction,
    ShopPrior,
    choose,
    shop_prior,
)
from orchestrator.engine.uplift import newcombe, wilson  # noqa: E402

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Sao_Paulo", "Asia/Kolkata"]
ZONES += ["UTC"]
HABITS = [(0.30, 8), (0.15, 12), (0.30, 19), (0.15, 21), (0.10, 7)]
KINDS = [(0.6, "habit"), (0.2, "none"), (0.2, "drift")]
P_DAILY = 0.85
SIGMA_H = 0.6
RANDOM_PER_DAY = 0.6
NO_HABIT_PER_DAY = 2.5
R0 = 0.6
TAU_H = 8.0
HISTORY = [0, 1, 2, 4, 8, 15, 25, 40]
ITERABLE_MIN = 5
SHOP_SAMPLE = 5000
WITHIN_S = 86400
#: The week the messages are triggered in (a Monday, in winter and summer zones alike).
WEEK = datetime(2026, 3, 2, tzinfo=UTC)
POLICIES = ["at once", "fixed 10:00", "Iterable-style", "Omni", "oracle"]


@dataclass
class Customer:
    zone: str
    kind: str
    #: Habit hour before the drift (``hour`` for the others) and now; -1: no habit.
    before: int
    hour: int
    history: list[Reaction] = field(default_factory=list)
    sent_before: int = 0


def _pick(rng: random.Random, table: list[tuple[float, int]] | list[tuple[float, str]]) -> object:
    roll, acc = rng.random(), 0.0
    for share, value in table:
        acc += share
        if roll < acc:
            return value
    return table[-1][1]


def looks(
    rng: random.Random, c: Customer, start: datetime, days: int, habit: int
) -> list[datetime]:
    """When the customer looks at their messages, from ``start`` for ``days`` local days."""
    tz = ZoneInfo(c.zone)
    first = start.astimezone(tz).date()
    out = []
    for d in range(days + 1):
        day = datetime.combine(first + timedelta(days=d), time(0), tz)
        if habit >= 0 and rng.random() < P_DAILY:
            out.append(day + timedelta(hours=habit + 0.5 + rng.gauss(0, SIGMA_H)))
        rate = RANDOM_PER_DAY if habit >= 0 else NO_HABIT_PER_DAY
        for _ in range(_poisson(rng, rate)):
            out.append(day + timedelta(hours=7 + 16 * rng.random()))
    return sorted(t.astimezone(UTC) for t in out if t >= start)


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def outcome(arrive: datetime, seen_at: list[datetime], u: float) -> datetime | None:
    """When the message gets its reaction (None: never)."""
    seen = next((t for t in seen_at if t >= arrive), None)
    if seen is None:
        return None
    waited = (seen - arrive).total_seconds() / 3600
    return seen if u < R0 * math.exp(-waited / TAU_H) else None


def customers(n: int, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = str(_pick(rng, KINDS))
        hour = int(str(_pick(rng, HABITS))) if kind != "none" else -1
        before = hour
        if kind == "drift":
            before = (hour + rng.choice([-1, 1]) * rng.randint(4, 8)) % 24
        c = Customer(rng.choice(ZONES), kind, before, hour)
        c.sent_before = rng.choice(HISTORY)
        tz = ZoneInfo(c.zone)
        for _ in range(c.sent_before):
            age = rng.uniform(1, 90)
            day = (WEEK - timedelta(days=age)).astimezone(tz).date()
            sent = datetime.combine(day, time(rng.randint(9, 20), rng.randint(0, 59)), tz)
            habit = c.before if age > 45 else c.hour
            seen = outcome(sent, looks(rng, c, sent, 3, habit), rng.random())
            if seen is not None and seen < WEEK:
                c.history.append(Reaction(seen, "email", "opened"))
        out.append(c)
    return out


def next_local(after: datetime, zone: str, hour: int) -> datetime:
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date()
    for shift in range(3):
        at = datetime.combine(day + timedelta(days=shift), time(hour), tz).astimezone(UTC)
        if at > after:
            return at
    raise AssertionError(hour)


def iterable(c: Customer, trigger: datetime) -> datetime:
    if len(c.history) < ITERABLE_MIN:
        return trigger
    tz = ZoneInfo(c.zone)
    hours = [r.at.astimezone(tz).hour for r in c.history]
    mode = max(sorted(set(hours)), key=hours.count)
    return next_local(trigger, c.zone, mode)


def decide(
    policy: str, c: Customer, trigger: datetime, prior: ShopPrior, strength: float
) -> datetime:
    if policy == "at once":
        return trigger
    if policy == "fixed 10:00":
        return next_local(trigger, c.zone, 10)
    if policy == "Iterable-style":
        return iterable(c, trigger)
    if policy == "oracle":
        return trigger if c.hour < 0 else next_local(trigger, c.zone, c.hour)
    found = choose(
        now=trigger,
        within_s=WITHIN_S,
        own=c.history,
        shop=prior,
        channels=["email"],
        timezone=c.zone,
        strength=strength,
    )
    return found.moment


@dataclass
class Tally:
    reacted: int = 0
    total: int = 0
    delays: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)


def run(n: int, seed: int, strengths: tuple[float, ...] = ()) -> dict[str, Tally]:
    """Every policy over the same customers and draws; ``Omni@a`` for each prior strength."""
    people = customers(n, seed)
    everybody = sorted(
        (Reaction(r.at, r.channel, r.kind, c.zone) for c in people for r in c.history),
        key=lambda r: r.at,
        reverse=True,
    )
    prior = shop_prior(everybody[:SHOP_SAMPLE], ["email"], "UTC")
    rng = random.Random(seed + 1)
    names = POLICIES + [f"Omni@{a:g}" for a in strengths]
    results = {p: Tally() for p in names}
    for c in people:
        trigger = WEEK + timedelta(seconds=rng.uniform(0, 7 * 86400))
        seen_at = looks(rng, c, trigger - timedelta(days=1), 4, c.hour)
        u = rng.random()
        kind = (
            c.kind
            if c.kind != "habit"
            else ("habit, 5+ reactions" if len(c.history) >= ITERABLE_MIN else "habit, fewer")
        )
        for name in names:
            policy, strength = (name, PRIOR_STRENGTH)
            if name.startswith("Omni@"):
                policy, strength = "Omni", float(name[5:])
            sent = decide(policy, c, trigger, prior, strength)
            got = outcome(sent, seen_at, u)
            t = results[name]
            t.total += 1
            t.holds.append((sent - trigger).total_seconds() / 3600)
            counts = t.by_kind.setdefault(kind, [0, 0])
            counts[1] += 1
            if got is not None:
                t.reacted += 1
                counts[0] += 1
                t.delays.append((got - trigger).total_seconds() / 3600)
    return results


def bootstrap_mean(values: list[float], seed: int, rounds: int = 300) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def report(results: dict[str, Tally], seed: int) -> str:
    base = results["at once"]
    lines = [
        f"{'policy':<16} {'reacted':>8} {'rate':>6}  {'95% interval':<14} "
        f"{'vs at once (points)':<24} {'h to reaction':>13}  {'95% interval':<13} "
        f"{'mean hold h':>11}"
    ]
    for name, t in results.items():
        low, high = wilson(t.reacted, t.total)
        d, dl, dh = newcombe(t.reacted, t.total, base.reacted, base.total)
        mean = statistics.fmean(t.delays) if t.delays else 0.0
        ml, mh = bootstrap_mean(t.delays, seed)
        versus = "—" if t is base else f"{100 * d:+.1f} ({100 * dl:+.1f} to {100 * dh:+.1f})"
        lines.append(
            f"{name:<16} {t.reacted:>8,} {100 * t.reacted / t.total:>5.1f}%  "
            f"{100 * low:.1f}-{100 * high:.1f}%    {versus:<24} {mean:>13.1f}  "
            f"{ml:.1f}-{mh:.1f}       {statistics.fmean(t.holds):>11.1f}"
        )
    kinds = sorted(base.by_kind)
    lines += ["", "reaction rate by kind of customer (customers)"]
    lines.append(f"{'policy':<16} " + " ".join(f"{k:>20}" for k in kinds))
    lines.append(f"{'':<16} " + " ".join(f"{base.by_kind[k][1]:>20,}" for k in kinds))
    for name, t in results.items():
        cells = [f"{100 * t.by_kind[k][0] / t.by_kind[k][1]:>19.1f}%" for k in kinds]
        lines.append(f"{name:<16} " + " ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results = run(args.customers, args.seed, strengths=(1.0, 4.0, 8.0))
    print(f"{args.customers:,} customers, seed {args.seed}\n")
    print(report(results, args.seed))


if __name__ == "__main__":
    main()

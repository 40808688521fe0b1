"""Does a learned ladder reach customers with fewer messages, and is the uplift interval honest?

    .venv/bin/python bench/learning.py [--customers 20000] [--seed 7] [--trials 1000]

Part 1 simulates synthetic customers whose true reaction chances per channel are known, and
runs the abandoned-cart ladder (email 4h → push 2h → telegram 2h → sms 2h) for each of them
three ways, with the same random draws (a customer who would react to telegram does so under
every policy):

- **fixed**: the rungs as written;
- **learned**: ``order: learned``, ranked by ``orchestrator.engine.affinity.rank`` from each
  customer's own past messages and the shop-wide prior (the sums over all customers);
- **learned + cost**: the same, and every rung weighed by ``affinity.judge`` against its price
  (``cost: {sms: 0.08 per segment, push: 0.001, ...}``, SMS of two segments), with
  ``value`` = 5% of the cart (the worth of a reaction: the margin on the orders reactions lead
  to).

It prints messages sent, SMS spend, customers reached (who reacted), messages per reached
customer (up to their reaction), median hours to the reaction and conversions.

The model's assumptions, stated: a customer's reactions are fixed draws per channel; a
channel without an address is skipped; a reaction at hour t of the ladder converts with chance
0.35·exp(-t/24) (a cart goes cold), no reaction with 0.03 (organic orders); the history is
0-12 past messages on random reachable channels.

Part 2 repeats a holdout experiment ``--trials`` times with a known true uplift (8% → 11%
conversion, 10% held out by the real stable hash) and prints how often the Newcombe 95%
interval (``orchestrator.engine.uplift``) contains the true uplift: it should be about 95%.
Also how often the verdict says "too small to conclude", and how often the always-valid
sequential test fires when there is no uplift at all (should stay under 5%).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.runlog import Run  # noqa: E402
from orchestrator.engine.affinity import Tally, judge, rank, reaction_chance  # noqa: E402
from orchestrator.engine.experiments import held_out  # noqa: E402
from orchestrator.engine.uplift import compare, newcombe  # noqa: E402

CHANNELS = ["email", "push", "telegram", "sms"]
WAITS_H = [4, 2, 2, 2]
#: Price of one message; SMS per segment, and the last-call SMS has two.
PRICE = {"email": 0.0005, "push": 0.0002, "telegram": 0.0, "sms": 0.08}
SMS_SEGMENTS = 2
#: Customer types: share, true reaction chance per channel.
TYPES = [
    (0.35, {"email": 0.30, "push": 0.05, "telegram": 0.03, "sms": 0.06}),
    (0.20, {"email": 0.05, "push": 0.30, "telegram": 0.03, "sms": 0.05}),
    (0.25, {"email": 0.04, "push": 0.04, "telegram": 0.45, "sms": 0.05}),
    (0.10, {"email": 0.05, "push": 0.03, "telegram": 0.03, "sms": 0.40}),
    (0.10, {"email": 0.02, "push": 0.01, "telegram": 0.01, "sms": 0.02}),  # hardly react
]
REACH = {"email": 0.95, "push": 0.6, "telegram": 0.5, "sms": 0.9}
VALUE_SHARE = 0.05


@dataclass
class Customer:
    truth: dict[str, float]
    reachable: set[str]
    history: dict[str, Tally]
    #: Common random numbers: reacts to channel c iff draw[c] < truth[c].
    draw: dict[str, float]
    convert_draw: float
    cart: float


def population(n: int, rng: random.Random) -> list[Customer]:
    people = []
    for _ in range(n):
        pick, acc = rng.random(), 0.0
        truth = TYPES[-1][1]
        for share, chances in TYPES:
            acc += share
            if pick < acc:
                truth = chances
                break
        truth = {c: min(0.95, p * rng.uniform(0.7, 1.3)) for c, p in truth.items()}
        reachable = {c for c in CHANNELS if rng.random() < REACH[c]}
        history: dict[str, Tally] = {}
        options = sorted(reachable)
        for _ in range(rng.randint(0, 12) if options else 0):
            c = rng.choice(options)
            was = history.get(c, Tally())
            history[c] = Tally(was.sent + 1, was.reacted + (rng.random() < truth[c]))
        people.append(
            Customer(
                truth,
                reachable,
                history,
                {c: rng.random() for c in CHANNELS},
                rng.random(),
                rng.lognormvariate(math.log(50), 0.6),
            )
        )
    return people


def shop_totals(people: list[Customer]) -> dict[str, Tally]:
    total = {c: Tally() for c in CHANNELS}
    for p in people:
        for c, t in p.history.items():
            total[c] = Tally(total[c].sent + t.sent, total[c].reacted + t.reacted)
    return total


@dataclass
class Result:
    messages: int = 0
    sms: int = 0
    sms_spend: float = 0.0
    spend: float = 0.0
    reached: int = 0
    converted: int = 0
    #: Messages sent to the customers who reacted, up to and including the one they reacted to.
    to_reach: int = 0
    hours_to_reaction: list[float] = field(default_factory=list)


def run_policy(people: list[Customer], shop: dict[str, Tally], policy: str) -> Result:
    """policy: fixed | learned | costed."""
    out = Result()
    for p in people:
        order = list(range(len(CHANNELS)))
        if policy != "fixed":
            order = rank(CHANNELS, p.history, shop).order
        elapsed, reacted_at, sent = 0.0, None, 0
        for i in order:
            c = CHANNELS[i]
            if c not in p.reachable:
                continue  # no address: skipped at once, no wait
            units = SMS_SEGMENTS if c == "sms" else 1
            if policy == "costed":
                chance = reaction_chance(p.history.get(c, Tally()), shop.get(c, Tally()))
                if judge(chance, VALUE_SHARE * p.cart, PRICE[c], units).skip:
                    continue
            out.messages += 1
            sent += 1
            out.spend += PRICE[c] * units
            if c == "sms":
                out.sms += 1
                out.sms_spend += PRICE[c] * units
            if p.draw[c] < p.truth[c]:
                reacted_at = elapsed
                break
            elapsed += WAITS_H[i]
        if reacted_at is not None:
            out.reached += 1
            out.to_reach += sent
            out.hours_to_reaction.append(reacted_at)
            chance = 0.35 * math.exp(-reacted_at / 24)
        else:
            chance = 0.03
        out.converted += p.convert_draw < chance
    return out


def ladders(n: int, seed: int) -> dict[str, Result]:
    people = population(n, random.Random(seed))
    shop = shop_totals(people)
    return {policy: run_policy(people, shop, policy) for policy in ("fixed", "learned", "costed")}


@dataclass
class Coverage:
    trials: int
    covered: int
    inconclusive: int
    sequential_false_alarms: int

    @property
    def rate(self) -> float:
        return self.covered / self.trials


def coverage(
    trials: int,
    runs: int,
    seed: int,
    *,
    control: float = 0.08,
    treated: float = 0.11,
    holdout_pct: float = 10,
) -> Coverage:
    """Holdout experiments with a known uplift; arms by the real stable hash."""
    rng = random.Random(seed)
    true_uplift = treated - control
    covered = inconclusive = alarms = 0
    for t in range(trials):
        counts = {True: [0, 0], False: [0, 0]}
        null = {True: [0, 0], False: [0, 0]}
        for i in range(runs):
            out = held_out(f"trial-{seed}-{t}", f"customer-{i}", holdout_pct)
            counts[out][0] += 1
            counts[out][1] += rng.random() < (control if out else treated)
            null[out][0] += 1
            null[out][1] += rng.random() < control
        (n1, k1), (n0, k0) = counts[False], counts[True]
        _, low, high = newcombe(k1, n1, k0, n0)
        covered += low <= true_uplift <= high
        inconclusive += not compare(n1, k1, n0, k0).conclusive
        (m1, j1), (m0, j0) = null[False], null[True]
        alarms += compare(m1, j1, m0, j0).sequential
    return Coverage(trials, covered, inconclusive, alarms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3000, help="runs per holdout trial")
    args = parser.parse_args()

    results = ladders(args.customers, args.seed)
    print(f"ladder for {args.customers:,} synthetic customers (seed {args.seed})")
    print(
        f"  {'policy':<16}{'messages':>10}{'SMS sent':>10}{'SMS spend':>11}{'reached':>9}"
        f"{'msgs/reached':>14}{'median h':>9}{'converted':>10}"
    )
    for name, label in (("fixed", "fixed"), ("learned", "learned"), ("costed", "learned + cost")):
        r = results[name]
        hours = sorted(r.hours_to_reaction)
        median = hours[len(hours) // 2] if hours else 0
        print(
            f"  {label:<16}{r.messages:>10,}{r.sms:>10,}{r.sms_spend:>11.2f}{r.reached:>9,}"
            f"{r.to_reach / max(r.reached, 1):>14.2f}{median:>9.0f}{r.converted:>10,}"
        )
    c = coverage(args.trials, args.runs, args.seed)
    print(
        f"holdout: {c.trials} trials of {args.runs:,} runs, 10% held out, true uplift "
        "+3.0 points (8% -> 11%)"
    )
    print(f"  Newcombe 95% interval contains the true uplift: {c.rate:.1%}")
    print(f"  verdict 'too small to conclude': {c.inconclusive / c.trials:.1%} of trials")
    print(
        "  sequential test fired with no true uplift: "
        f"{c.sequential_false_alarms / c.trials:.1%} of trials (alpha 5%)"
    )


if __name__ == "__main__":
    with Run("learning", {"argv": sys.argv[1:]}).recording():
        main()

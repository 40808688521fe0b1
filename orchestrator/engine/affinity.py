"""Which channel a customer reacts to, and whether a message is worth its cost. Pure functions:
the ``rank_channels`` and ``judge_rung`` activities call them, and so does ``bench/learning.py``.

The chance that a customer reacts (opens, clicks, replies) to a message on a channel is
estimated with a Beta-Binomial model:

- the **shop-wide prior** for a channel is Beta(a0, b0) with mean ``(R + 1) / (N + 2)`` over the
  shop's N messages and R reactions on it, and a strength ``a0 + b0`` of N capped at
  ``PRIOR_STRENGTH`` pseudo-messages: a shop with a million emails must not drown one
  customer's history, a shop with none says "about even" (Beta(1, 1));
- the **customer's posterior mean** adds their own n messages and r reactions:
  ``(a0 + r) / (a0 + b0 + n)``. After ``PRIOR_STRENGTH`` messages of their own, their history
  weighs as much as the shop's.

A ladder with ``order: learned`` tries channels by that mean, highest first; ties keep the
written order, so a shop without any data sends as written.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The most pseudo-messages the shop-wide prior counts for (see the module's docstring).
PRIOR_STRENGTH = 10.0


@dataclass(frozen=True)
class Tally:
    """Messages sent on a channel and how many of them got a reaction."""

    sent: int = 0
    reacted: int = 0


@dataclass(frozen=True)
class Prior:
    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


def shop_prior(shop: Tally, strength: float = PRIOR_STRENGTH) -> Prior:
    mean = (shop.reacted + 1) / (shop.sent + 2)
    weight = min(max(float(shop.sent), 2.0), strength)
    return Prior(mean * weight, (1 - mean) * weight)


def reaction_chance(own: Tally, shop: Tally, strength: float = PRIOR_STRENGTH) -> float:
    """The posterior mean chance that this customer reacts to a message on the channel."""
    prior = shop_prior(shop, strength)
    return (prior.a + own.reacted) / (prior.a + prior.b + own.sent)


@dataclass(frozen=True)
class Ranking:
    #: Rung indexes in the order to try them.
    order: list[int]
    #: channel -> estimated reaction chance for this customer.
    chances: dict[str, float]
    explanation: str


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%" if p < 0.01 else f"{100 * p:.0f}%"


def _why(channel: str, own: Tally, shop: Tally, chance: float) -> str:
    if own.sent:
        return (
            f"{own.reacted} of {own.sent} past {channel} messages got a reaction "
            f"(estimate {_pct(chance)}, shop-wide {_pct(shop_prior(shop).mean)})"
        )
    return f"no {channel} history for this customer; shop-wide {_pct(chance)}"


def rank(
    channels: list[str],
    own: dict[str, Tally],
    shop: dict[str, Tally],
    strength: float = PRIOR_STRENGTH,
) -> Ranking:
    """Rungs (by their channels, as written) in the order of this customer's reaction chance."""
    chances = {
        c: reaction_chance(own.get(c, Tally()), shop.get(c, Tally()), strength) for c in channels
    }
    order = sorted(range(len(channels)), key=lambda i: -chances[channels[i]])
    first = channels[order[0]] if order else ""
    head = "as written" if order == list(range(len(channels))) else f"{first} first"
    why = _why(first, own.get(first, Tally()), shop.get(first, Tally()), chances.get(first, 0))
    sequence = " → ".join(f"{channels[i]} {_pct(chances[channels[i]])}" for i in order)
    return Ranking(order, chances, f"{head}: {why}; order {sequence}")


def _amount(x: float) -> str:
    """Money with two decimals, or two significant digits below 0.10 (0.037, 0.001)."""
    return f"{x:.2f}" if x == 0 or x >= 0.1 else f"{x:.2g}"


@dataclass(frozen=True)
class CostCheck:
    skip: bool
    expected: float
    cost: float
    reason: str


def judge(
    chance: float, value: float, price: float, units: int = 1, unit: str = "message"
) -> CostCheck:
    """Skip a message whose expected worth (reaction chance times ``value``) is below its cost
    (``units`` of ``price``: 1 message, or the SMS's segments)."""
    expected = chance * value
    cost = price * units
    counted = f"{units} {unit}{'s' if units != 1 else ''} × {price:g}"
    numbers = (
        f"expected {chance:.3g} × {value:.2f} = {_amount(expected)} "
        f"{'<' if expected < cost else '≥'} cost {counted} = {_amount(cost)}"
    )
    return CostCheck(expected < cost, expected, cost, f"cost: {numbers}")

"""When to send: a customer's hour-of-week reaction profile and the best moment in a window.

Pure functions: the ``best_time`` activity (``engine/timing.py``) calls them with reactions
read from the send log, ``bench/send_time.py`` with synthetic ones, the console to draw a
customer's profile.

The model, in the words a marketer reads in the timeline:

- **A profile** has 168 bins, one per hour of the week in the customer's own time zone (each
  reaction is placed by its own instant, so a DST change moves nothing). A reaction is the
  first of the scenario's reaction kinds (open, click, reply) on a message sent to them.
- **Smoothing**: people keep daily habits, so a reaction at Tue 19:xx also says something of
  18h and 20h (``HOUR_KERNEL``) and of 19h on the other days (``OTHER_DAYS``). Each reaction
  spreads a total weight of 1.
- **Recent counts more**: a reaction's weight halves every ``HALF_LIFE_DAYS``, so a customer
  whose habits move is followed.
- **Shrinkage** (empirical Bayes): the shop's profile, fitted from everybody's latest
  reactions (each in its own customer's zone, plus ``SHOP_FLAT`` pseudo-reactions spread
  evenly over the week, so a shop with a handful of reactions has no strong opinion yet), is
  a Dirichlet prior worth ``PRIOR_STRENGTH`` reactions. A customer's score for an hour is the
  posterior mean ``(a · shop[h] + own[h]) / (a + n)``: with no history it is the shop's best
  hour, after ``PRIOR_STRENGTH`` reactions their own history weighs as much as the shop's.
- **Channels**: reactions on the send's own channels count fully, others at
  ``OTHER_CHANNEL`` (an evening person reads mail in the evening too). The shop's profile is
  that of the send's channels once they have ``SHOP_MIN`` reactions, else of all channels.
- **The moment**: a message waits in the inbox until the customer next looks, so sending at
  hour h is as good as the chance of a reaction in the hours from h on (``AHEAD``: h, h+1,
  h+2, less and less). Candidates are now and the start of every local hour up to
  ``within``, outside the quiet hours (and where they end). Each scores that, discounted by
  ``DAILY_DISCOUNT`` per day of waiting (a message read a day later is worth less, and the
  same hour tomorrow must be clearly better to wait for it). The best wins, earliest on ties —
  unless it beats the first allowed moment by less than ``MIN_LIFT``: then at once (holding a
  message for noise costs freshness and buys nothing).
- **Nothing to learn from** (no reaction of theirs nor the shop's): the scenario's
  ``fallback`` (``now``, or the next local HH:MM within the window).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestrator.engine.policies import quiet_until
from orchestrator.language.localtime import customer_zone, local_moment
from orchestrator.language.model import QuietHours

HOURS = 168
#: Reactions a shop-wide profile is worth against a customer's own (see the docstring).
PRIOR_STRENGTH = 2.0
#: Hold only for an hour that scores at least this much above sending at once.
MIN_LIFT = 1.2
#: What a day of waiting leaves of a moment's score.
DAILY_DISCOUNT = 0.8
#: How much a reaction in each hour after a message arrives counts for sending then: its
#: own hour, the next, the one after (a message waits in the inbox for the next look).
AHEAD = (1.0, 0.5, 0.2)
#: Weight a reaction lends its neighbouring hours (distance in hours -> weight).
HOUR_KERNEL = {0: 1.0, 1: 0.6, 2: 0.3}
#: Weight a reaction lends the same hours on each other day of the week.
OTHER_DAYS = 0.5
#: Weight of a reaction on a channel other than the send's.
OTHER_CHANNEL = 0.5
#: Pseudo-reactions spread evenly over the week that the shop's own reactions must outweigh.
SHOP_FLAT = 50.0
#: A reaction's weight halves with every this many days of age.
HALF_LIFE_DAYS = 60.0
#: Reactions on the send's channels the shop needs before its profile is theirs alone.
SHOP_MIN = 100
NOTHING = "nothing to learn from yet (no reactions, theirs or the shop's)"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WORDS = {"opened": "opens", "clicked": "clicks", "replied": "replies"}


@dataclass(frozen=True)
class Reaction:
    """One message's first reaction: when (an aware instant), on which channel, what kind;
    ``timezone`` is its customer's zone ("" : the one the caller gives)."""

    at: datetime
    channel: str
    kind: str = "opened"
    timezone: str = ""


def hour_of_week(moment: datetime, tz: ZoneInfo) -> int:
    """0 = Monday 00:00-00:59 local, 167 = Sunday 23:00-23:59 local."""
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


def _kernel() -> list[tuple[int, float]]:
    """(offset in hours of the week, weight), summing to 1."""
    spread = [
        (day * 24 + d, w * (1.0 if day == 0 else OTHER_DAYS))
        for day in range(7)
        for dh, w in HOUR_KERNEL.items()
        for d in ({dh, -dh} if dh else {0})
    ]
    total = sum(w for _, w in spread)
    return [(offset, w / total) for offset, w in spread]


KERNEL = _kernel()


def smooth(raw: Sequence[float]) -> list[float]:
    """Each bin's weight spread over its neighbours (the kernel keeps the total)."""
    out = [0.0] * HOURS
    for h, weight in enumerate(raw):
        if weight:
            for offset, w in KERNEL:
                out[(h + offset) % HOURS] += weight * w
    return out


def decay(age: timedelta) -> float:
    days = max(age.total_seconds(), 0.0) / 86400
    return float(0.5 ** (days / HALF_LIFE_DAYS))


@dataclass(frozen=True)
class Profile:
    """A customer's smoothed reaction weights per hour of the week, and the shop's prior."""

    own: list[float]
    #: The shop's profile as a distribution over the 168 hours (sums to 1).
    shop: list[float]
    #: The customer's total (decayed, channel-weighted) reactions.
    weight: float
    strength: float = PRIOR_STRENGTH

    def score(self, h: int) -> float:
        """The posterior chance that this customer's next reaction falls in hour ``h``."""
        a = self.strength
        return (a * self.shop[h] + self.own[h]) / (a + self.weight)

    def scores(self) -> list[float]:
        return [self.score(h) for h in range(HOURS)]

    def send_scores(self) -> list[float]:
        """How good sending at the start of each hour is (``AHEAD``)."""
        at = self.scores()
        return [sum(w * at[(h + j) % HOURS] for j, w in enumerate(AHEAD)) for h in range(HOURS)]


@dataclass(frozen=True)
class ShopPrior:
    """The shop's profile: a distribution over the 168 hours, and for the explanation the
    local hour of day of each reaction it was made of and what they were."""

    dist: list[float]
    hours: list[int] = field(default_factory=list, repr=False)
    word: str = "reactions"

    @property
    def count(self) -> int:
        return len(self.hours)


def shop_prior(
    reactions: Iterable[Reaction], channels: Sequence[str], default_tz: str
) -> ShopPrior:
    """Made once per sample of the shop's reactions (the ``best_time`` activity keeps it
    while the store keeps the sample): 5,000 zone conversions are not worth repeating."""
    found = list(reactions)
    own_channels = [r for r in found if r.channel in channels]
    used = own_channels if len(own_channels) >= SHOP_MIN or not channels else found
    raw = [0.0] * HOURS
    hours = []
    for r in used:
        h = hour_of_week(r.at, customer_zone(r.timezone or default_tz))
        raw[h] += 1.0
        hours.append(h % 24)
    # A shop with three reactions is not sure yet: they must outweigh an even week.
    smoothed = [x + SHOP_FLAT / HOURS for x in smooth(raw)]
    total = sum(smoothed)
    return ShopPrior([x / total for x in smoothed], hours, word(used))


def profile(
    own: Iterable[Reaction],
    shop: Sequence[Reaction] | ShopPrior,
    *,
    channels: Sequence[str],
    tz: ZoneInfo,
    now: datetime,
    default_tz: str = "UTC",
    strength: float = PRIOR_STRENGTH,
) -> Profile:
    raw = [0.0] * HOURS
    total = 0.0
    for r in own:
        weight = decay(now - r.at) * (1.0 if r.channel in channels else OTHER_CHANNEL)
        raw[hour_of_week(r.at, tz)] += weight
        total += weight
    prior = shop if isinstance(shop, ShopPrior) else shop_prior(shop, channels, default_tz)
    return Profile(smooth(raw), prior.dist, total, strength)


@dataclass(frozen=True)
class Choice:
    """The moment a held send goes, and why, in words for the timeline."""

    #: An aware UTC instant; ``now`` itself when the message goes at once.
    moment: datetime
    #: own: their reactions decided; shop: only the shop's did; fallback: nobody's did.
    source: str
    #: "4 of 5 past opens 18-20h", "no reactions of their own yet; shop-wide …".
    reason: str
    #: The moment in the customer's zone: "Tue 19:00".
    local: str
    hour_of_week: int
    #: The message waits (``moment`` is later than now).
    held: bool = True
    #: Scores of the chosen hour and of sending at once (0 with a fallback).
    score: float = 0.0
    now_score: float = 0.0

    def describe(self) -> str:
        """``holding for Tue 19:00 local: 4 of 5 past opens 18-20h`` or ``at once: …``."""
        if self.held:
            return f"holding for {self.local} local: {self.reason}"
        return f"at once: {self.reason}"


def local_label(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{DAYS[local.weekday()]} {local:%H:%M}"


def band(hour: int) -> str:
    """The three hours from ``hour`` of the day on (a message sent then is read in them):
    ``19-21h``."""
    return f"{hour}–{(hour + 2) % 24}h"


def in_band(local_hour: int, hour: int) -> bool:
    return (local_hour - hour) % 24 <= 2


def word(reactions: Sequence[Reaction]) -> str:
    kinds = {r.kind for r in reactions}
    return WORDS.get(next(iter(kinds)), "reactions") if len(kinds) == 1 else "reactions"


def _thousands(n: int) -> str:
    return f"{n:,}"


def explain(
    hour: int,
    own: Sequence[Reaction],
    shop: ShopPrior,
    channels: Sequence[str],
    tz: ZoneInfo,
) -> tuple[str, str]:
    """(source, words) for the hour of day ``hour``: the customer's own reactions when they
    have any (on the send's channels if any, else all of theirs), else the shop's."""
    mine = [r for r in own if r.channel in channels] or list(own)
    if mine:
        k = sum(1 for r in mine if in_band(r.at.astimezone(tz).hour, hour))
        which = "" if all(r.channel in channels for r in mine) else " (on other channels)"
        return "own", f"{k} of {len(mine)} past {word(mine)}{which} {band(hour)}"
    k = sum(1 for h in shop.hours if in_band(h, hour))
    return (
        "shop",
        f"no reactions of their own yet; shop-wide {_thousands(k)} of "
        f"{_thousands(shop.count)} {shop.word} {band(hour)}",
    )


def candidates(
    now: datetime, within_s: int, tz: ZoneInfo, quiet: QuietHours | None, tz_name: str
) -> list[datetime]:
    """Now and the start of every local hour up to ``within_s`` later, outside the quiet
    hours; where a quiet window ends inside the window, that moment too. In time order."""
    end = now + timedelta(seconds=within_s)
    local = now.astimezone(tz)
    # Stepping in UTC from a local hour start lands on local hour starts across DST changes
    # and in zones off the hour by 30 or 45 minutes alike.
    first = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    moments = [now] + [
        t for k in range(1, within_s // 3600 + 2) if now < (t := first + timedelta(hours=k)) <= end
    ]
    if quiet is None:
        return moments
    allowed: set[datetime] = set()
    for t in moments:
        until = quiet_until(t, quiet, tz_name)
        if until is None:
            allowed.add(t)
        elif until <= end:
            allowed.add(until)
    return sorted(allowed)


def choose(
    *,
    now: datetime,
    within_s: int,
    own: Sequence[Reaction],
    shop: Sequence[Reaction] | ShopPrior,
    channels: Sequence[str],
    timezone: str,
    default_tz: str = "UTC",
    quiet: QuietHours | None = None,
    fallback: str = "now",
    strength: float = PRIOR_STRENGTH,
    min_lift: float = MIN_LIFT,
    unknown: str = "",
) -> Choice:
    """The moment to send within ``within_s`` of ``now`` (see the module's docstring);
    ``shop`` may be made once (``shop_prior``) for many decisions; ``unknown`` says why
    nothing is known when the caller knows better than "no reactions"."""
    now = now.astimezone(UTC)
    tz_name = timezone or default_tz
    tz = customer_zone(tz_name)
    prior = shop if isinstance(shop, ShopPrior) else shop_prior(shop, channels, default_tz)
    if not own and not prior.count:
        return _fallback(now, within_s, tz, fallback, unknown or NOTHING)
    found = profile(own, prior, channels=channels, tz=tz, now=now, strength=strength)
    scores = found.send_scores()
    moments = candidates(now, within_s, tz, quiet, tz_name) or [now]

    def worth(t: datetime) -> float:
        days = (t - now).total_seconds() / 86400
        return scores[hour_of_week(t, tz)] * float(DAILY_DISCOUNT**days)

    first = moments[0]
    best = max(moments, key=lambda t: (worth(t), -t.timestamp()))
    best_score = scores[hour_of_week(best, tz)]
    if worth(best) < min_lift * worth(first):
        best, best_score = first, scores[hour_of_week(first, tz)]
    hour = best.astimezone(tz).hour
    source, why = explain(hour, own, prior, channels, tz)
    now_score = scores[hour_of_week(now, tz)]
    held = best > now
    if not held:
        why = f"no hour in the next {_hours(within_s)} clearly better: {why}"
    return Choice(
        best,
        source,
        why,
        local_label(best, tz),
        hour_of_week(best, tz),
        held,
        best_score,
        now_score,
    )


def _hours(seconds: int) -> str:
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{math.ceil(seconds / 3600)}h"


def _fallback(now: datetime, within_s: int, tz: ZoneInfo, fallback: str, nothing: str) -> Choice:
    if fallback != "now":
        at = local_moment(now=now, timezone=tz.key, clock=fallback).astimezone(UTC)
        if at <= now + timedelta(seconds=within_s):
            why = f"{nothing}: fallback {fallback} local"
            return Choice(at, "fallback", why, local_label(at, tz), hour_of_week(at, tz))
        nothing += f"; fallback {fallback} is past the window"
    return Choice(
        now,
        "fallback",
        f"{nothing}: fallback now",
        local_label(now, tz),
        hour_of_week(now, tz),
        held=False,
    )

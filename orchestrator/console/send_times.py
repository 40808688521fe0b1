"""Send times in the console (``at: best_time``): on a scenario's page, how many held messages
go out at each local hour (Braze's preview chart, from what is actually held); on a
customer's page, their learned hour-of-week profile and the messages held for them.

Server-side SVG like the diagram: no script, every text escaped, an accessible name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from orchestrator.console.state import Console
from orchestrator.engine.send_time import DAYS, HOURS, Profile, hour_of_week, profile
from orchestrator.engine.timing import SendTimeRecord
from orchestrator.language.best_time import held_sends
from orchestrator.language.localtime import customer_zone
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.store.send_times import PendingHour, SqlSendTimes

KINDS = ["opened", "clicked", "replied"]
BAR_W, BAR_GAP, CHART_H = 18, 4, 120
CELL, LEFT, TOP = 16, 34, 18


def send_times_of(console: Console) -> SqlSendTimes:
    """One per console: the shop's sample is kept between page views (shop_ttl_s)."""
    if console.send_times is None:
        console.send_times = SqlSendTimes(console.funnel.sessions)
    return console.send_times


def hour_chart(pending: list[PendingHour]) -> str:
    """24 bars: held messages still to go, by the local hour they go at."""
    most = max((p.count for p in pending), default=0) or 1
    width = LEFT + 24 * (BAR_W + BAR_GAP)
    total = sum(p.count for p in pending)
    busy = ", ".join(f"{p.hour}h {p.count}" for p in pending if p.count)
    label = f"{total} held messages still to go, by local hour" + (f": {busy}" if busy else "")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart hours" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {CHART_H + 34}" '
        f'width="{width}" height="{CHART_H + 34}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(label)}</title>",
        f'<text x="0" y="12" fill="#374151">{most}</text>',
        f'<line x1="{LEFT - 4}" y1="{CHART_H + 10}" x2="{width}" y2="{CHART_H + 10}" '
        'stroke="#6b7280"/>',
    ]
    for p in pending:
        x = LEFT + p.hour * (BAR_W + BAR_GAP)
        h = round(CHART_H * p.count / most)
        parts.append(
            f'<g class="bar" data-hour="{p.hour}" data-count="{p.count}">'
            f"<title>{p.hour}:00-{p.hour}:59 local: {p.count}</title>"
            f'<rect x="{x}" y="{CHART_H + 10 - h}" width="{BAR_W}" height="{h}" '
            'fill="#2563eb"/></g>'
        )
        if p.hour % 3 == 0:
            parts.append(
                f'<text x="{x + BAR_W / 2:g}" y="{CHART_H + 26}" text-anchor="middle" '
                f'fill="#374151">{p.hour}h</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def profile_chart(found: Profile, counts: list[int]) -> str:
    """A week of hours (rows Monday to Sunday): the darker, the likelier a reaction; a dot
    where the customer reacted themselves."""
    scores = found.scores()
    low, top = min(scores), max(scores)
    spread = top - low
    width, height = LEFT + 24 * CELL, TOP + 7 * CELL + 4
    best = sorted(range(HOURS), key=lambda h: -scores[h])[:3]
    named = ", ".join(f"{DAYS[h // 24]} {h % 24}h" for h in best)
    label = f"Likeliest hours of the week: {named}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart profile" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="10">',
        f"<title>{escape(label)}</title>",
    ]
    for hour in range(0, 24, 3):
        parts.append(
            f'<text x="{LEFT + hour * CELL + CELL / 2:g}" y="12" text-anchor="middle" '
            f'fill="#374151">{hour}</text>'
        )
    for day in range(7):
        y = TOP + day * CELL
        parts.append(f'<text x="0" y="{y + 12}" fill="#374151">{DAYS[day]}</text>')
        for hour in range(24):
            h = day * 24 + hour
            # Relative to the week's least likely hour: an even week is evenly pale.
            shade = (scores[h] - low) / spread if spread > 1e-12 else 0.0
            dot = (
                f'<circle cx="{CELL / 2:g}" cy="{CELL / 2:g}" r="3" fill="#f59e0b"/>'
                if counts[h]
                else ""
            )
            parts.append(
                f'<g class="cell" data-hour="{h}" transform="translate({LEFT + hour * CELL},{y})">'
                f"<title>{DAYS[day]} {hour}:00: {100 * scores[h]:.1f}% of reactions"
                f"{f'; {counts[h]} of theirs' if counts[h] else ''}</title>"
                f'<rect width="{CELL - 1}" height="{CELL - 1}" fill="#1d4ed8" '
                f'fill-opacity="{0.06 + 0.94 * shade:.2f}"/>{dot}</g>'
            )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class TimingView:
    """A customer's send times, for their page."""

    svg: str
    #: Their own reactions and, by channel, how many.
    reactions: int
    by_channel: dict[str, int] = field(default_factory=dict)
    #: The shop's reactions the prior is made of.
    shop: int = 0
    timezone: str = ""
    held: list[SendTimeRecord] = field(default_factory=list)


async def customer_timing(console: Console, customer_id: str, timezone: str) -> TimingView:
    times = send_times_of(console)
    now = datetime.now(UTC)
    zone_name = timezone or console.default_timezone
    tz = customer_zone(zone_name)
    own = await times.of_customer(customer_id, KINDS)
    shop = await times.of_shop(KINDS)
    found = profile(
        own, shop, channels=list(CHANNELS), tz=tz, now=now, default_tz=console.default_timezone
    )
    counts = [0] * HOURS
    by_channel: dict[str, int] = {}
    for r in own:
        counts[hour_of_week(r.at, tz)] += 1
        by_channel[r.channel] = by_channel.get(r.channel, 0) + 1
    held = await times.pending_of(customer_id, now)
    return TimingView(
        profile_chart(found, counts), len(own), by_channel, len(shop), zone_name, held
    )


async def scenario_chart(console: Console, scenario: Scenario) -> str:
    """The chart for a scenario with held sends; "" for one without."""
    if not held_sends(scenario.steps):
        return ""
    pending = await send_times_of(console).pending_by_hour(scenario.id, datetime.now(UTC))
    return hour_chart(pending)

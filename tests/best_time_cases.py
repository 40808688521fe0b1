"""Shared parts of the best-time tests: a scenario that holds its sends, customers in many
zones, reaction histories placed at local hours, and the moments they should get."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import FULL_CONTACT, write_scenario
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.contacts import Contact
from orchestrator.engine.send_time import Reaction
from orchestrator.language.model import Scenario

H = 3600
HELD = """
scenario: cart
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
quiet_hours: "22:00-07:00"
steps:
{steps}
sample:
  cart_updated: {cart: {id: c-1, total: 42}}
  order_placed: {order: {cart_id: c-1}}
"""
SEND = """
  - send: {email: cart/reminder}
    at: best_time
    within: 24h
"""
TEMPLATES = {
    "cart/reminder/email": "{% block subject %}Cart{% endblock %}{% block html %}h{% endblock %}",
    "cart/reminder/sms": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    "cart/reminder/telegram": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    "cart/reminder/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}",
}


def scenario(tmp: Path, steps: str = SEND) -> Scenario:
    return write_scenario(tmp, HELD.replace("{steps}", steps.strip("\n")), TEMPLATES)


def contact(cid: str, timezone: str | None, **extra: Any) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, "id": cid, "timezone": timezone, **extra})


def at_local(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz)).astimezone(UTC)


def habit(
    tz: str,
    hour: int,
    days: int,
    before: datetime,
    *,
    channel: str = "email",
    kind: str = "opened",
    minute: int = 10,
    zone: str = "",
) -> list[Reaction]:
    """A reaction at ``hour``:``minute`` local on each of the ``days`` days before ``before``
    (``zone``: the customer's, as the shop's reactions carry it)."""
    today = before.astimezone(ZoneInfo(tz)).date()
    return [
        Reaction(at_local(today - timedelta(days=d), hour, minute, tz), channel, kind, zone)
        for d in range(1, days + 1)
    ]


def shop_habits(before: datetime, peak: int, zones: list[str]) -> list[Reaction]:
    """A shop whose customers (in ``zones``) react all day, most at ``peak`` local."""
    out: list[Reaction] = []
    for tz in zones:
        out += habit(tz, peak, 20, before, zone=tz)
        for hour in range(8, 22):
            out += habit(tz, hour, 3, before, zone=tz)
    return out


def next_local(after: datetime, tz: str, hour: int) -> datetime:
    """The first local ``hour``:00 strictly after ``after`` (an aware instant)."""
    day = after.astimezone(ZoneInfo(tz)).date()
    for shift in range(3):
        moment = at_local(day + timedelta(days=shift), hour, 0, tz)
        if moment > after:
            return moment
    raise AssertionError("no such hour within two days")


async def align(env: WorkflowEnvironment, utc: time = time(2, 30)) -> datetime:
    """Skip the shared test server's clock to the next ``utc`` (so local hours are known)."""
    now = await env.get_current_time()
    target = datetime.combine(now.date(), utc, UTC)
    while target <= now:
        target += timedelta(days=1)
    await env.sleep((target - now).total_seconds())
    return (await env.get_current_time()).replace(second=0, microsecond=0)


def next_change(after: datetime, tz: str) -> datetime:
    """The first instant after ``after`` at which ``tz`` changes its UTC offset."""
    z = ZoneInfo(tz)
    step = after
    offset = step.astimezone(z).utcoffset()
    while step.astimezone(z).utcoffset() == offset:
        step += timedelta(hours=1)
    return step

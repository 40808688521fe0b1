"""A synthetic shop day for bench/day.py: the customers, the events they cause and when, and
the shipped scenarios on a scaled-down clock. Pure: the same seed gives the same day.

The day, per customer (each has an email address, some a phone, a Telegram chat or a browser
push subscription; about ten events each on average):

- visits (1-3 a day, more in the afternoon and evening) of 1-6 product views a few minutes
  apart (``product_viewed``; browse_followup starts for products from 20 EUR);
- half the visits fill a cart: 1-5 ``cart_updated`` in a burst, a minute or so apart (the
  abandoned_cart run restarts its waits on each); a third of the carts are ordered
  (``order_placed``) anywhere from minutes to three hours later, racing the reminders; some
  carts are emptied (``cart_emptied``);
- 8% sign up (``signed_up``: welcome_series); 4% register for one of three webinars
  (``webinar_registered`` a day or two before it starts; half join, ``webinar_joined``, when
  it starts); 15% watch products that drop in price in one of three sales
  (``price_dropped``, 1-12 within ten minutes: price_drop_digest collects them);
- 5% of all events are sent twice (the shop's retry), the second time up to a minute later.

Reactions to the messages (opens, clicks, Telegram replies, unsubscribes) are not planned
here: bench/day.py makes them as messages arrive at the peers.

Times are planned in the shop's seconds (a day is 86,400) and divided by the clock on posting;
``scaled_scenarios`` divides every duration of the shipped scenarios by the same clock.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400.0
HOUR = 3_600.0
MINUTE = 60.0
#: Share of customers with each address (all have email).
PHONE, TELEGRAM, PUSH = 0.4, 0.2, 0.3
SIGN_UP, WEBINAR, WATCHER = 0.08, 0.04, 0.15
REPEAT = 0.05
SALES = (10.5 * HOUR, 15 * HOUR, 20 * HOUR)
WEBINARS = ("w-spring", "w-linen", "w-care")


@dataclass
class Customer:
    id: str
    email: str
    phone: str = ""
    chat: str = ""
    #: The push service's device name (bench/day.py subscribes it).
    device: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class Planned:
    """One POST /v1/events: when (shop seconds from the day's start) and what. ``starts_in``
    > 0: the event's ``webinar.starts_at`` is that many shop seconds after the day's start
    (set on posting, when the day's real start is known)."""

    at: float
    customer: str
    body: dict[str, Any] = field(hash=False)
    repeat: bool = False
    starts_in: float = 0.0


def visit_time(rng: random.Random) -> float:
    """A moment of the day, busier from noon to late evening (rejection sampling)."""
    while True:
        t = rng.random() * DAY
        busy = 0.6 + 0.4 * math.sin(2 * math.pi * (t / DAY - 0.35))
        if rng.random() < busy:
            return t


def customers(n: int, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cid = f"d{seed}-{i}"
        out.append(
            Customer(
                id=cid,
                email=f"{cid}@example.com",
                phone=f"+4930{30_000_000 + i}" if rng.random() < PHONE else "",
                chat=str(800_000_000 + i) if rng.random() < TELEGRAM else "",
                device=f"dev-{cid}" if rng.random() < PUSH else "",
                timezone=rng.choice(("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")),
            )
        )
    return out


def contact_fields(c: Customer, push: dict[str, Any] | None) -> dict[str, Any]:
    """The contact as the shop sends it with the customer's first event."""
    fields: dict[str, Any] = {
        "email": c.email,
        "first_name": "Ann",
        "timezone": c.timezone,
        "consents": {"email": True, "push": True, "telegram": True, "sms": True},
    }
    if c.phone:
        fields["phone"] = c.phone
    if c.chat:
        fields["telegram_chat_id"] = c.chat
    if push is not None:
        fields["push_subscriptions"] = [push]
    return fields


def product(rng: random.Random) -> dict[str, Any]:
    pid = f"p-{rng.randrange(2_000)}"
    price = round(rng.uniform(5, 200), 2)
    return {
        "id": pid,
        "name": f"Product {pid}",
        "price": price,
        "url": f"https://shop.example/{pid}",
    }


def plan_customer(c: Customer, rng: random.Random) -> list[Planned]:
    """One customer's events over the day (not yet repeated, contact not yet attached)."""
    out: list[Planned] = []
    seq = 0

    def add(at: float, name: str, data: dict[str, Any], starts_in: float = 0.0) -> None:
        nonlocal seq
        seq += 1
        body = {"name": name, "customer_id": c.id, "event_id": f"{c.id}-{seq}", "data": data}
        out.append(Planned(at, c.id, body, starts_in=starts_in))

    visits = sorted(visit_time(rng) for _ in range(rng.choice((1, 1, 2, 2, 3))))
    if rng.random() < SIGN_UP:
        add(visits[0], "signed_up", {"source": rng.choice(("web", "app"))})
    for v, start in enumerate(visits):
        t, seen = start, []
        for _ in range(rng.randint(1, 6)):
            p = product(rng)
            seen.append(p)
            add(t, "product_viewed", {"product": p})
            t += rng.uniform(0.5, 4) * MINUTE
        if rng.random() < 0.5:
            cart_id = f"{c.id}-c{v}"
            items: list[dict[str, Any]] = []
            for _ in range(rng.randint(1, 5)):
                p = rng.choice(seen)
                items.append({"name": p["name"], "qty": 1, "price": p["price"]})
                total = round(sum(i["price"] for i in items), 2)
                cart = {"id": cart_id, "total": total, "currency": "EUR", "items": list(items)}
                add(t, "cart_updated", {"cart": {**cart, "url": "https://shop.example/cart"}})
                t += rng.uniform(0.2, 3) * MINUTE
            roll = rng.random()
            if roll < 0.35:  # ordered: before, around or after the first reminder (1 h)
                order = {"id": f"o-{cart_id}", "cart_id": cart_id, "total": total}
                order["product_ids"] = [p["id"] for p in seen]
                add(t + rng.uniform(1, 180) * MINUTE, "order_placed", {"order": order})
            elif roll < 0.40:
                add(t + rng.uniform(1, 60) * MINUTE, "cart_emptied", {"cart": {"id": cart_id}})
    if rng.random() < WEBINAR:
        w = rng.choice(WEBINARS)
        at = visits[0]
        starts = at + rng.uniform(25, 40) * HOUR
        data = {"webinar": {"id": w, "title": f"Webinar {w}", "url": "https://shop.example/w"}}
        add(at, "webinar_registered", data, starts_in=starts)
        if rng.random() < 0.5:
            add(starts, "webinar_joined", {"webinar": {"id": w}})
    if rng.random() < WATCHER:
        sale = rng.choice(SALES)
        t = sale + rng.uniform(0, 5) * MINUTE
        for _ in range(rng.randint(1, 12)):
            p = product(rng)
            drop = {"id": p["id"], "name": p["name"], "url": p["url"]}
            was = round(p["price"] + 5, 2)
            add(
                t,
                "price_dropped",
                {"product": drop, "price": p["price"], "was": was, "currency": "EUR"},
            )
            t += rng.uniform(0.1, 1) * MINUTE
    return out


def shop_day(people: list[Customer], seed: int) -> list[Planned]:
    """Every customer's events and the shop's repeats, in time order. A customer's first
    event carries no contact yet: bench/day.py attaches it (it holds the push keys)."""
    rng = random.Random(seed + 1)
    plan: list[Planned] = []
    for c in people:
        plan += plan_customer(c, rng)
    repeats = [
        Planned(p.at + rng.uniform(1, 60), p.customer, p.body, repeat=True, starts_in=p.starts_in)
        for p in plan
        if rng.random() < REPEAT
    ]
    return sorted(plan + repeats, key=lambda p: (p.at, p.repeat))


# -- the scenarios on the day's clock ------------------------------------------------------

_DURATION = re.compile(r"(\d+)\s*([wdhms])\b")
_UNIT = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
#: Keys whose value is a duration in the scenario language.
_TIMED = {"wait", "timeout", "for", "window", "cooldown", "spread"}


def scaled(text: str, clock: float) -> str:
    """Every duration in ``text`` divided by ``clock``, in whole seconds (at least 1)."""

    def one(m: re.Match[str]) -> str:
        return f"{max(1, round(int(m[1]) * _UNIT[m[2]] / clock))}s"

    merged = re.sub(r"(\d+\s*[wdhms])(\s*\d+\s*[wdhms])+\b", lambda m: _sum(m[0]), text)
    return _DURATION.sub(one, merged)


def _sum(text: str) -> str:
    return f"{sum(int(n) * _UNIT[u] for n, u in _DURATION.findall(text))}s"


def scaled_scenario(doc: Any, clock: float, key: str = "") -> Any:
    """A scenario document with its durations on the day's clock, without quiet hours (a
    compressed day has no local night; the caps' windows shrink with the clock)."""
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            if k in ("quiet_hours", "sample"):
                if k == "sample":
                    out[k] = v
                continue
            out[k] = scaled_scenario(v, clock, k)
        return out
    if isinstance(doc, list):
        return [scaled_scenario(v, clock, key) for v in doc]
    if isinstance(doc, str) and (key in _TIMED or key in ("wait_until", "frequency_cap")):
        return scaled(doc, clock)
    return doc

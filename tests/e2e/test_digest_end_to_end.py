"""Digests end to end on the dev server: a sale starts and hundreds of price drops per customer
arrive through the HTTP API in batches, interleaved across eight customers who watch
overlapping products, with replayed event ids carrying other prices. Each customer gets
exactly one message listing exactly their own products, newest first, one line per product
at its newest price, read off the providers' bytes: the SMTP DATA, the Bot API call, the
Twilio form body. Product names are hostile (markup, CR/LF, bidi controls, emoji, 3,000
characters) and arrive as typed where text is plain and escaped where it is markup.

Every customer watches exactly ``MAX`` products, the last one new in their last drop: the
window closes at ``max`` with every drop in it, however long the burst takes on a loaded
machine (the window's 10 minutes are a bound never reached; a window closing on time, with a
worker killed meanwhile, is tests/faults/test_digest_worker_killed.py)."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from e2e_stack import Running, running_stack
from markupsafe import escape
from odd_text import ODD
from peers.providers import Providers, four_providers
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.text import text_problem

ROOT = Path(__file__).resolve().parents[2]
MAX = 8
WINDOW = "10m"
SCENARIO = f"""
scenario: drops
title: Price drops on watched items (every channel)
trigger: {{event: price_dropped, again: signal}}
goal: {{event: order_placed}}
steps:
  - collect: {{event: price_dropped, for: {WINDOW}, max: {MAX}, key: product.id}}
  - send: {{first_of: [email, telegram, sms], template: price_drop_digest/digest}}
sample:
  price_dropped:
    product: {{id: p-5, name: Linen shirt, url: https://shop.example/p/p-5}}
    price: 44.90
    was: 59.90
    currency: EUR
  order_placed: {{order: {{id: o-77}}}}
"""
SHIPPED = ROOT / "templates" / "price_drop_digest" / "digest"
TEMPLATES = {
    "price_drop_digest/digest/email": (SHIPPED / "email.j2").read_text(encoding="utf-8"),
    "price_drop_digest/digest/sms": (SHIPPED / "sms.j2").read_text(encoding="utf-8"),
    "price_drop_digest/digest/telegram": "{% block text %}<b>Prices dropped on items you "
    'watch</b>\n{% for item in collected %}• <a href="{{ link(item.product.url) }}">'
    "{{ item.product.name }}</a>: {{ money(item.price, item.currency) }}\n{% endfor %}"
    "{% endblock %}",
}
#: Names as shops send them (tests/odd_text.py), those the API takes as text.
ODD_NAMES = [o for o in ODD if text_problem(o) is None]
HOSTILE = [
    '<script>alert("x")</script> & Co',
    "Linen\r\nBcc: evil@example.com\r\nX-Injected: 1",
    "\u202eRTL\u200f shirt",
    "e\u0301 😀 \U0010fffd",
    "".join(ODD_NAMES),
]
PRODUCTS = [f"p{n:02}" for n in range(14)]
#: customer -> the channel their contact has (first_of: email, telegram, sms).
CUSTOMERS = {
    "d-em1": "email",
    "d-em2": "email",
    "d-tg1": "telegram",
    "d-tg2": "telegram",
    "d-sm1": "sms",
    "d-sm2": "sms",
    "d-em3": "email",
    "d-tg3": "telegram",
}
DROPS_PER_CUSTOMER = 150
#: Events per POST /v1/events (the API takes up to 500).
BATCH = 200


def contact(cid: str, i: int) -> dict[str, Any]:
    channel = CUSTOMERS[cid]
    address = {
        "email": {"email": f"{cid}@example.com"},
        "telegram": {"telegram_chat_id": str(8800 + i)},
        "sms": {"phone": f"+1500555{7700 + i}"},
    }[channel]
    return {**address, "first_name": cid, "consents": {channel: True}}


def name_of(cid: str, product: str, rng: random.Random) -> str:
    """Hostile, and naming its customer and product (the assertions look for that tag)."""
    if CUSTOMERS[cid] == "email" and product == "p03":
        return "é" * 3000 + f" {cid}-{product}"
    odd = rng.choice(HOSTILE)
    if CUSTOMERS[cid] == "sms":
        odd = odd[:30]  # the SMS names the newest item: keep it within the segment limit
    return f"{odd} {cid}-{product}"


@dataclass
class Burst:
    """The drops posted, and what each customer's digest must say."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    replays: int = 0
    #: customer -> product -> (last position in that customer's drops, newest price, name)
    newest: dict[str, dict[str, tuple[int, float, str]]] = field(default_factory=dict)

    def expected(self, cid: str) -> list[str]:
        """The customer's products, newest first."""
        items = self.newest[cid]
        return sorted(items, key=lambda p: -items[p][0])


def burst(seed: int) -> Burst:
    rng = random.Random(seed)
    out = Burst()
    queues: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for cid in CUSTOMERS:
        watched = rng.sample(PRODUCTS, MAX)
        names = {p: name_of(cid, p, rng) for p in watched}
        # The last product first appears in the last drop: it fills the window (max).
        early, last = watched[:-1], watched[-1]
        picks = [*early, *(rng.choice(early) for _ in range(DROPS_PER_CUSTOMER - MAX))]
        rng.shuffle(picks)
        picks.append(last)
        queue: list[dict[str, Any]] = []
        out.newest[cid] = {}
        for pos, product in enumerate(picks):
            n += 1
            price = round(10 + n / 100, 2)
            url = f"https://shop.example/p/{product}"
            data: dict[str, Any] = {
                "product": {"id": product, "name": names[product], "url": url},
                "price": price,
                "was": 99.0,
                "currency": "EUR",
            }
            queue.append({"name": "price_dropped", "customer_id": cid, "data": data})
            queue[-1]["event_id"] = f"{cid}-{uuid.uuid4().hex[:12]}"
            out.newest[cid][product] = (pos, price, names[product])
            if pos % 25 == 24 and product != last:  # an earlier drop delivered again
                again = rng.choice(queue[:-1])
                replayed = {**again["data"], "price": 0.01}
                replayed["product"] = {**again["data"]["product"], "name": f"REPLAYED {cid}"}
                queue.append({**again, "data": replayed})
                out.replays += 1
        queues[cid] = queue
    mixed = interleaved(queues, rng)
    out.batches = [mixed[i : i + BATCH] for i in range(0, len(mixed), BATCH)]
    return out


def interleaved(queues: dict[str, list[dict[str, Any]]], rng: random.Random) -> list[Any]:
    """Every queue's items in its own order, the queues mixed at random."""
    left = {k: list(v) for k, v in queues.items() if v}
    out = []
    while left:
        key = rng.choice(sorted(left))
        out.append(left[key].pop(0))
        if not left[key]:
            del left[key]
    return out


@pytest.fixture
async def shop(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Running, Providers]]:
    async with (
        four_providers() as p,
        running_stack(dev_env, tmp_path, SCENARIO, TEMPLATES, p.channels) as run,
    ):
        auth = {"Authorization": f"Bearer {run.key}"}
        for i, cid in enumerate(CUSTOMERS):
            done = await run.http.put(f"/v1/contacts/{cid}", headers=auth, json=contact(cid, i))
            assert done.status_code == 200, done.text
        yield run, p
    assert p.violations() == []


def tagged(text: str, cid: str) -> list[str]:
    """The products ``text`` lists for ``cid``, in order (each name ends with its tag)."""
    return re.findall(rf"{re.escape(cid)}-(p\d\d)", text)


def crlf(text: str) -> str:
    """Line ends as one form: MIME parts carry CRLF or LF depending on their encoding."""
    return text.replace("\r\n", "\n")


def money(price: float) -> str:
    return f"€{price:,.2f}"


def email_of(p: Providers, cid: str) -> list[EmailMessage]:
    return [r.message for r in p.smtp.received if r.recipients == [f"{cid}@example.com"]]


async def test_bursts_make_one_digest_per_customer_in_every_channel(
    shop: tuple[Running, Providers],
) -> None:
    run, p = shop
    plan = burst(27)
    statuses: dict[str, int] = {}
    auth = {"Authorization": f"Bearer {run.key}"}
    for batch in plan.batches:
        # A batch of hundreds on a loaded machine may take longer than httpx's default 5 s.
        done = await run.http.post("/v1/events", json={"events": batch}, headers=auth, timeout=300)
        assert done.status_code == 202, done.text
        for result in done.json()["results"]:
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    posted = sum(len(b) for b in plan.batches)
    assert posted >= len(CUSTOMERS) * DROPS_PER_CUSTOMER
    assert statuses.get("duplicate") == plan.replays, statuses
    for cid in CUSTOMERS:
        handle = run.svc.client.get_workflow_handle(f"drops/customer-{cid}")
        state = await handle.result()
        assert state["outcome"] == "completed", state
        sent = [m["channel"] for m in state["messages"] if m["status"] == "sent"]
        assert sent == [CUSTOMERS[cid]], state  # first_of skipped the channels they lack

    by_chat = {str(8800 + i): cid for i, cid in enumerate(CUSTOMERS)}
    by_phone = {f"+1500555{7700 + i}": cid for i, cid in enumerate(CUSTOMERS)}
    telegram = {by_chat[str(s["chat_id"])]: s for s in p.telegram.sent}
    shown = {
        by_chat[str(s["chat_id"])]: v
        for s, v in zip(p.telegram.sent, p.telegram.shown, strict=True)
    }
    sms = {}
    for raw in p.twilio.wire:  # the form body as Twilio received it
        form = {k: v[0] for k, v in parse_qs(raw.decode("ascii"), strict_parsing=True).items()}
        sms[by_phone[form["To"]]] = form["Body"]
    assert len(p.telegram.sent) == len(telegram) and len(p.twilio.wire) == len(sms)
    for cid, channel in CUSTOMERS.items():
        expected = plan.expected(cid)
        newest = plan.newest[cid]
        others = [o for o in CUSTOMERS if o != cid]
        got = {
            "email": len(email_of(p, cid)),
            "telegram": int(cid in telegram),
            "sms": int(cid in sms),
        }
        assert got == {c: int(c == channel) for c in got}, (cid, got)  # exactly one message
        if channel == "email":
            (mail,) = email_of(p, cid)
            raw = next(r.raw for r in p.smtp.received if r.recipients == [f"{cid}@example.com"])
            headers = raw.split(b"\r\n\r\n", 1)[0]
            assert b"X-Injected" not in headers and b"evil@example.com" not in headers
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
            assert mail["Subject"] == f"{MAX} items you watch are cheaper now"
            assert tagged(text, cid) == expected and tagged(html, cid) == expected
            for _, price, name in newest.values():
                # As typed in the text part, escaped in HTML (line ends: the message's).
                assert f"- {crlf(name)}: {money(price)} (was €99.00)" in crlf(text), name
                assert f">{crlf(escape(name))}</a>: {money(price)}" in crlf(html), name
            assert "<script>" not in html
            assert not any(f"{o}-p" in text + html for o in others)
            assert "REPLAYED" not in text + html and "€0.01" not in text
        elif channel == "telegram":
            params = telegram[cid]
            assert tagged(str(params["text"]), cid) == expected
            seen = shown[cid].text  # what the customer reads, entities parsed
            for _, price, name in newest.values():
                assert f"• {name}: {money(price)}" in seen
            assert "<script>" not in str(params["text"])
            assert not any(f"{o}-p" in seen for o in others)
            assert "REPLAYED" not in seen
        else:
            body = sms[cid]
            first = expected[0]
            _, price, name = newest[first]
            assert body.startswith(
                f"{MAX} items you watch are cheaper, e.g. {name} now {money(price)}: "
            )
            assert tagged(body, cid) == [first]  # the SMS names the newest item only
            assert not any(f"{o}-p" in body for o in others) and "REPLAYED" not in body

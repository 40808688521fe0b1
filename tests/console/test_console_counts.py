"""Issue 23: every skip and deferral reason visible with counts — held out, quiet hours (a send
held until the customer's morning), frequency cap, consent, no address — on the Messages page
(filterable by reason), in the scenario's funnel (with the runs held out), on the customer's
page and in /metrics. Real runs through the API, several customers sharing one cart id, each
in a time zone chosen so that it is day or night for them now."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from console_browser import tab
from console_stack import HOSTILE, ConsoleStack, console_stack, logged_in, profile_of
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.experiments import held_out

COUNTS = """\
scenario: console_counts
title: Console counts
description: One reminder a cart, by email or else SMS; half the customers are held out.
trigger: {event: counts_left, per: cart.id}
goal: {event: counts_bought}
holdout: 50%
goal_window: 1m
quiet_hours: "21:00-09:00"
frequency_cap: 1 per 1d
steps:
  - send: {first_of: [email, sms], template: play/reminder}
sample:
  counts_left: {cart: {id: c-1, total: 42.5, url: "https://shop.example/cart"}}
"""
SCENARIO = "console_counts"


@pytest.fixture(scope="module")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleStack]:
    tmp = tmp_path_factory.mktemp("console-counts")
    async with console_stack(dev_env, tmp, {"console_counts.yaml": COUNTS}) as running:
        yield running


def zone_at(local_hour: int) -> str:
    """An Etc/GMT zone where it is ``local_hour`` o'clock now (Etc/GMT-5 is UTC+5)."""
    offset = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def pick(treated: bool, prefix: str, count: int) -> list[str]:
    found = [
        f"{prefix}{i}" for i in range(400) if held_out(SCENARIO, f"{prefix}{i}", 50) != treated
    ]
    return found[:count]


async def left(stack: ConsoleStack, customer: str, cart: str, contact: dict[str, Any]) -> None:
    body = {
        "name": "counts_left",
        "customer_id": customer,
        "event_id": f"ev-{uuid.uuid4().hex}",
        "data": {"cart": {"id": cart, "total": 42.5, "url": "https://shop.example/cart"}},
        "contact": contact,
    }
    answer = await stack.http.post("/v1/events", json=body, headers=stack.auth)
    assert answer.status_code == 202, answer.text


async def fates(stack: ConsoleStack, customer: str) -> set[tuple[str, str]]:
    return {(r["status"], r["reason"].split(":")[0]) for r in await stack.messages_of(customer)}


async def until(check: Any, what: Any, timeout: float = 30) -> None:
    """Wait for ``check()``; ``what()`` says what was seen instead."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(await what())
        await asyncio.sleep(0.2)


def rows_of(page: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    assert body is not None, page[:2000]
    return re.findall(r"<tr data-status=.*?</tr>", body.group(1), re.S)


async def test_every_skip_and_hold_reason_is_counted_on_every_page(stack: ConsoleStack) -> None:
    tag = uuid.uuid4().hex[:5]
    out = pick(False, f"out-{tag}-", 2)
    quiet, nocon, capped = pick(True, f"in-{tag}-", 3)
    cart = f"shared-{tag}"  # one cart id, five customers: each run is its own
    day, night = zone_at(15), zone_at(3)
    email = {"consents": {"email": True}}
    for customer in out:
        await left(stack, customer, cart, {"email": f"{customer}@example.com", **email})
    await left(
        stack,
        quiet,
        cart,
        {"email": f"{quiet}@example.com", "timezone": night, **email},
    )
    # No consent for email, no phone for SMS; a name that tries to break the pages.
    await left(
        stack,
        nocon,
        cart,
        {"email": f"{nocon}@example.com", "timezone": day, **HOSTILE["x-script"]},
    )
    await left(stack, capped, cart, {"email": f"{capped}@example.com", "timezone": day, **email})
    await stack.wait_sent(capped)
    await left(stack, capped, f"{cart}-again", {"timezone": day})  # the cap is reached

    expected = {
        **{c: {("skipped", "holdout")} for c in out},
        quiet: {("deferred", "quiet_hours")},
        nocon: {("skipped", "no_consent"), ("skipped", "no_address")},
        capped: {("sent", ""), ("skipped", "frequency_cap"), ("skipped", "no_address")},
    }

    async def all_recorded() -> bool:
        return all([await fates(stack, c) == want for c, want in expected.items()])

    async def seen() -> str:
        return f"fates: { {c: await fates(stack, c) for c in expected} }"

    await until(all_recorded, seen)

    async with logged_in(stack) as client:
        listed = (await client.get(f"/console/messages?scenario={SCENARIO}")).text
        chips = dict(re.findall(r'data-reason="([a-z_]+)" href="[^"]*">[^<]+<b>(\d+)</b>', listed))
        assert {k: int(v) for k, v in chips.items()} == {
            "holdout": 4,  # two held-out runs, each keeps back its email and its SMS
            "quiet_hours": 1,  # held now
            "no_consent": 1,
            "no_address": 2,
            "frequency_cap": 1,
        }, chips
        assert "skipped · held out (holdout group) <b>4</b>" in listed
        assert "held now · quiet hours <b>1</b>" in listed
        assert "skipped · no consent <b>1</b>" in listed
        assert "skipped · no address on file <b>2</b>" in listed
        assert "skipped · frequency cap reached <b>1</b>" in listed
        assert re.search(r'data-held="quiet_hours"[^>]*>quiet hours <b>1</b>', listed)
        assert "<script>alert(1)</script>" not in listed

        # Filtered by one reason: exactly the messages skipped or held for it.
        for reason, who, n in (
            ("holdout", out, 4),
            ("quiet_hours", [quiet], 1),
            ("no_consent", [nocon], 1),
        ):
            page = (await client.get(f"/console/messages?scenario={SCENARIO}&reason={reason}")).text
            rows = rows_of(page, "messages")
            shown = {c for row in rows for c in expected if f"<td>{c}</td>" in row}
            assert shown == set(who), (reason, shown)
            assert len(rows) == n, (reason, rows)

        async def funnel_counts_the_holdout() -> bool:
            page = (await client.get(f"/console/scenarios/{SCENARIO}?days=1")).text
            row = re.search(r'id="held-out-runs">.*?<td class="num">(\d+)</td>', page, re.S)
            return row is not None and int(row.group(1)) >= len(out)

        # The held-out runs are counted from the store once visibility has them.
        async def no_holdout() -> str:
            return "the funnel never counted the held-out runs"

        await until(funnel_counts_the_holdout, no_holdout)
        funnel = (await client.get(f"/console/scenarios/{SCENARIO}?days=1")).text
    cells = re.search(r'<table id="funnel">(.*?)</table>', funnel, re.S)
    assert cells is not None
    skips = cells.group(1)
    for reason in ("holdout", "no_consent", "no_address", "frequency_cap"):
        assert f'data-reason="{reason}"' in skips, reason
    assert re.search(r'data-held="quiet_hours"[^>]*>held · quiet hours <b>1</b>', skips)
    assert "reason=holdout" in html.unescape(skips)

    quiet_page = await profile_of(stack, quiet)
    assert "held now · quiet hours" in quiet_page and "no messages" not in quiet_page
    nocon_page = await profile_of(stack, nocon)
    assert "skipped · no consent <b>1</b>" in nocon_page
    assert "skipped · no address on file <b>1</b>" in nocon_page
    out_page = await profile_of(stack, out[0])
    assert "skipped · held out (holdout group) <b>2</b>" in out_page

    metrics = (await stack.http.get("/metrics")).text
    for reason in ("holdout", "no_consent", "no_address", "frequency_cap"):
        assert re.search(
            rf'omni_send_skips_total\{{channel="[a-z]+",reason="{reason}",'
            rf'scenario="{SCENARIO}"\}} [1-9]',
            metrics,
        ), reason
    assert re.search(
        rf'omni_send_deferrals_total\{{channel="email",reason="quiet_hours",'
        rf'scenario="{SCENARIO}"\}} [1-9]',
        metrics,
    )


async def test_a_count_filters_messages_by_its_reason_in_a_browser(
    browser: Any, stack: ConsoleStack
) -> None:
    """The marketer clicks "held out" among the counts and sees only those messages."""
    tag = uuid.uuid4().hex[:5]
    [out], [kept] = pick(False, f"bout-{tag}-", 1), pick(True, f"bin-{tag}-", 1)
    cart = f"b-{tag}"
    for customer in (out, kept):
        await left(
            stack,
            customer,
            cart,
            {
                "email": f"{customer}@example.com",
                "consents": {"email": True},
                "timezone": zone_at(15),
            },
        )
    await stack.wait_sent(kept)

    async def out_logged() -> bool:
        return await fates(stack, out) == {("skipped", "holdout")}

    async def out_seen() -> str:
        return str(await fates(stack, out))

    await until(out_logged, out_seen)
    async with tab(browser, stack, width=1280) as t:
        await t.page.goto(f"/console/messages?scenario={SCENARIO}")
        await t.page.click('#message-counts a[data-reason="holdout"]')
        await t.page.wait_for_selector("#filtered")
        assert "reason=holdout" in t.page.url
        rows = t.page.locator("#messages tbody tr")
        texts = await rows.all_inner_texts()
        assert texts and all("held out (holdout group)" in r for r in texts)
        assert any(out in r for r in texts) and not any(kept in r for r in texts)
        chosen = t.page.locator('select[name="reason"] option:checked')
        assert await chosen.inner_text() == "held out (holdout group)"
        await t.shot("messages-held-out")
        await t.page.goto(f"/console/scenarios/{SCENARIO}?days=1")
        await t.shot("funnel-skips-and-holds")

"""The console's send times (``at: best_time``) on the whole stack (dev server, API, worker,
SQLite): customers in several zones, with their own reactions in the send log and hostile
names, held for their hours; the scenario page's chart counts them by local hour, a
customer's page shows their learned profile and held sends; a cancel during the hold ends
the run unsent and takes the message off the chart. Both pages pass the layout checks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_core import axe_script
from best_time_cases import habit
from console_browser import SCREENSHOTS, tab
from console_stack import ConsoleStack, console_stack, logged_in, profile_of
from page_checks import check
from sqlalchemy import func, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.messages import RunState
from orchestrator.engine.sendlog import SendRecord
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tables import SendTimeRow

TIMED = """\
scenario: console_timed
title: Console timed
trigger: {event: basket_timed, per: cart.id}
goal: {event: basket_bought}
steps:
  - send: {email: play/reminder}
    at: best_time
    within: 2d
sample:
  basket_timed: {cart: {id: c-1, total: 42.5, url: "https://shop.example/cart"}}
"""
NOW = datetime.now(UTC)
#: customer -> (zone, hostile first name); each reacts 6 hours of the day after now.
CUSTOMERS = {
    "timed-berlin": ("Europe/Berlin", "<script>alert(1)</script>"),
    "timed-ny": ("America/New_York", "Eve\r\nX-Injected: yes"),
    "timed-kolkata": ("Asia/Kolkata", "Zoë 🛒 \u202egnp.exe"),
}


def their_hour(zone: str) -> int:
    return (NOW.astimezone(ZoneInfo(zone)).hour + 6) % 24


@pytest.fixture(scope="module")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleStack]:
    folder = tmp_path_factory.mktemp("console-timed")
    async with console_stack(dev_env, folder, extra={"console_timed.yaml": TIMED}) as running:
        yield running


async def seed_and_hold(stack: ConsoleStack) -> dict[str, str]:
    """Six past opens per customer at their hour, then a trigger each (one cart id for all);
    returns customer -> workflow id, once every run has decided."""
    log = stack.svc.send_log
    assert isinstance(log, SqlSendLog)
    for customer, (zone, _) in CUSTOMERS.items():
        for i, r in enumerate(habit(zone, their_hour(zone), 6, NOW)):
            key = f"seed/{customer}/{i}"
            await log.record(
                SendRecord(
                    key, customer, "seed", "s", "email", "t", "sent", r.at - timedelta(minutes=5)
                )
            )
            await log.mark(key, "opened", r.at)
    wids = {}
    for customer, (zone, name) in CUSTOMERS.items():
        body = {
            "name": "basket_timed",
            "customer_id": customer,
            "event_id": f"ev-{customer}",
            "data": {"cart": {"id": "c-shared", "total": 42.5, "url": "https://shop.example/cart"}},
            "contact": {
                "email": f"{customer}@example.com",
                "first_name": name,
                "timezone": zone,
                "consents": {"email": True},
            },
        }
        answer = await stack.http.post("/v1/events", json=body, headers=stack.auth)
        assert answer.status_code == 202, answer.text
        wids[customer] = f"console_timed/customer-{customer}/cart-c-shared"
    async with log.sessions() as s:
        for _ in range(300):
            held = await s.scalar(select(func.count()).select_from(SendTimeRow))
            if held == len(CUSTOMERS):
                break
            await asyncio.sleep(0.1)
    assert held == len(CUSTOMERS)
    return wids


def bars(html: str) -> dict[int, int]:
    return {
        int(h): int(n)
        for h, n in re.findall(r'class="bar" data-hour="(\d+)" data-count="(\d+)"', html)
    }


async def test_held_sends_on_the_scenario_and_customer_pages(
    stack: ConsoleStack, dev_env: WorkflowEnvironment
) -> None:
    wids = await seed_and_hold(stack)
    async with logged_in(stack) as console:
        page = await console.get("/console/scenarios/console_timed")
        plain = await console.get("/console/scenarios/console_play")
    assert page.status_code == 200
    expected = {their_hour(zone): 0 for zone, _ in CUSTOMERS.values()}
    for zone, _ in CUSTOMERS.values():
        expected[their_hour(zone)] += 1
    found = bars(page.text)
    assert len(found) == 24 and {h: n for h, n in found.items() if n} == expected
    # A scenario without held sends has no such chart.
    assert 'id="send-times"' not in plain.text
    # The customer's page: their profile (a dot at each hour they reacted) and held send.
    profile = await profile_of(stack, "timed-berlin")
    hour = their_hour("Europe/Berlin")
    assert "From 6 reactions of their own (email 6)" in profile
    dots = re.findall(r'data-hour="(\d+)" transform[^>]*><title>[^<]*; 1 of theirs', profile)
    assert {int(h) % 24 for h in dots} == {hour} and len(dots) == 6
    assert f"{hour:02d}:00</td><td>their reactions" in profile
    assert "<script>alert(1)</script>" not in profile
    # A cancel during the hold: the run ends unsent, the chart drops it.
    handle: WorkflowHandle[Any, RunState] = dev_env.client.get_workflow_handle(
        wids["timed-berlin"], result_type=RunState
    )
    cancel = await stack.http.post(
        f"/v1/runs/{wids['timed-berlin']}/cancel", json={"reason": "test"}, headers=stack.auth
    )
    assert cancel.status_code in (200, 202), cancel.text
    state = await asyncio.wait_for(handle.result(), 60)
    assert state.outcome == "cancelled"
    assert [(m.status, m.reason) for m in state.messages] == [("skipped", "stopped_by_cancel")]
    async with logged_in(stack) as console:
        after = bars((await console.get("/console/scenarios/console_timed")).text)
    expected[hour] -= 1
    assert {h: n for h, n in after.items() if n} == {h: n for h, n in expected.items() if n}


@pytest.mark.parametrize("width", (1280, 1920))
async def test_the_pages_fit_and_pass_axe(browser: Any, stack: ConsoleStack, width: int) -> None:
    async with stack.svc.send_log.sessions() as s:
        held = await s.scalar(select(func.count()).select_from(SendTimeRow))
    if not held:
        await seed_and_hold(stack)
    axe = axe_script()
    folder: Path = SCREENSHOTS / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    overflow: dict[str, Any] = {}
    violations: dict[str, Any] = {}
    async with tab(browser, stack, width=width, bypass_csp=True) as t:
        await t.page.goto("/console/scenarios/console_timed")
        await t.page.screenshot(path=str(folder / "scenario-best-time.png"), full_page=True)
        await check(t, "scenario", axe, overflow, violations)
        await t.page.goto("/console/customers")
        await t.page.fill("#find input[name=q]", "timed-ny")
        await t.page.click("#find button[type=submit]")
        await t.page.wait_for_selector("#send-times")
        await t.page.screenshot(path=str(folder / "customer-best-time.png"), full_page=True)
        await check(t, "customer", axe, overflow, violations)
        assert t.dialogs == [] and t.external == []
    assert overflow == {}, overflow
    assert violations == {}, violations

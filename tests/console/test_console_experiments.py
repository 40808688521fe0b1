"""What a scenario adds, in a real browser on the whole stack: a scenario with a 50% holdout and
a split. Real runs through the API (a held-out customer gets nothing, their goal still counts;
the page says the sample is too small), then a large recorded sample (another version) where
the page shows the uplift, its interval and each variant against the first. Screenshots go to
tests/output/screenshots/."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_browser import tab
from console_stack import ConsoleStack, console_stack
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.experiments import held_out
from orchestrator.engine.learning import ArmRecord
from orchestrator.store.arms import SqlArms
from orchestrator.store.funnel import OutcomeRecord, SqlFunnel

LAB = """\
scenario: console_lab
title: Console lab
description: Half the customers get nothing; the others one of two variants.
trigger: {event: lab_left, per: cart.id}
goal: {event: lab_bought}
holdout: 50%
goal_window: 1m
steps:
  - split:
      short:
        - send: {email: play/reminder}
      long:
        - send: {email: play/reminder}
        - send: {sms: play/reminder}
sample:
  lab_left: {cart: {id: c-1, total: 42.5, url: "https://shop.example/cart"}}
"""
SEEDED = "seeded01"


@pytest.fixture(scope="module")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleStack]:
    tmp = tmp_path_factory.mktemp("console-lab")
    async with console_stack(dev_env, tmp, {"console_lab.yaml": LAB}) as running:
        yield running


async def post(stack: ConsoleStack, name: str, customer: str, data: dict[str, Any]) -> None:
    body = {
        "name": name,
        "customer_id": customer,
        "event_id": f"ev-{uuid.uuid4().hex}",
        "data": data,
        "contact": {
            "email": f"{customer}@example.com",
            "phone": "+15005550006",
            "consents": {"email": True, "sms": True},
        },
    }
    answer = await stack.http.post("/v1/events", json=body, headers=stack.auth)
    assert answer.status_code == 202, answer.text


async def seed(stack: ConsoleStack) -> None:
    """A large recorded sample under version SEEDED: 2,000 treated runs (18% converted), 220
    held out (10%); among the treated, short 1,000 (15%) and long 1,000 (21%)."""
    factory = stack.svc.send_log.sessions
    # Older than the real runs, so the outcome copy's watermarks stay where they are.
    at = datetime.now(UTC) - timedelta(hours=3)
    runs, arms = [], []
    plan = [("treated", "short", 1000, 150), ("treated", "long", 1000, 210)]
    plan += [("held_out", "short", 110, 11), ("held_out", "long", 110, 11)]
    for arm, variant, n, converted in plan:
        for i in range(n):
            wid = f"console_lab/customer-seed-{arm}-{variant}-{i}"
            outcome = "converted" if i < converted else "exhausted"
            if arm == "held_out" and outcome == "exhausted":
                outcome = "held_out"
            runs.append(
                OutcomeRecord(
                    wid.replace("/", "-"),
                    wid,
                    "console_lab",
                    SEEDED,
                    "x",
                    "completed",
                    outcome,
                    at,
                    at,
                )
            )
            arms.append(ArmRecord(wid, SEEDED, "console_lab", "x", "holdout", arm, at))
            if arm == "treated":
                arms.append(ArmRecord(wid, SEEDED, "console_lab", "x", "steps.1", variant, at))
    await SqlFunnel(factory).save_outcomes(runs)
    await SqlArms(factory).record(arms)


async def test_holdout_and_variants_on_the_scenario_page(browser: Any, stack: ConsoleStack) -> None:
    out = next(f"lab-out-{i}" for i in range(100) if held_out("console_lab", f"lab-out-{i}", 50))
    kept = next(f"lab-in-{i}" for i in range(100) if not held_out("console_lab", f"lab-in-{i}", 50))
    cart = {"cart": {"id": "c-1", "total": 42.5, "url": "https://shop.example/cart"}}
    for customer in (out, kept):
        await post(stack, "lab_left", customer, cart)
    await stack.wait_sent(kept)
    await post(stack, "lab_bought", kept, {})
    await post(stack, "lab_bought", out, {})
    async with tab(browser, stack) as t:
        await t.page.goto("/console/scenarios/console_lab?days=1")
        holdout = t.page.locator('section[data-experiment="holdout"]')
        finished = holdout.locator("tr[data-arm] .finished")

        async def both_converted() -> bool:
            cells = holdout.locator("tr[data-arm] .converted")
            if await cells.count() != 2:
                return False
            return [await c.inner_text() for c in await cells.all()] == ["1", "1"]

        await t.until(both_converted)
        assert [await c.inner_text() for c in await finished.all()] == ["1", "1"]
        verdict = holdout.locator("p.verdict")
        assert "inconclusive" in (await verdict.get_attribute("class") or "")
        assert "too small to conclude: each arm needs at least 50 finished runs" in (
            await verdict.inner_text()
        )
        # The held-out customer got nothing at all (each message kept back is logged as a
        # holdout skip); their goal was counted all the same.
        kept_back = await stack.messages_of(out)
        assert kept_back and {(m["status"], m["reason"].split(":")[0]) for m in kept_back} == {
            ("skipped", "holdout")
        }
        assert any(m["status"] == "sent" for m in await stack.messages_of(kept))
        # Variants compare treated runs only: the held-out customer is in no variant.
        assert sum(int(n) for n in (await split_rows(t.page)).values()) == 1
        for path in ("steps.1", "steps.1.short.1", "steps.1.long.1", "steps.1.long.2"):
            assert await t.page.locator(f'svg.diagram [data-step="{path}"]').count() == 1
        await t.shot("experiment-too-small")

        await seed(stack)
        await t.page.goto(f"/console/scenarios/console_lab?days=1&version={SEEDED}")
        rows = {
            await r.get_attribute("data-arm"): await r.locator(".rate").inner_text()
            for r in await holdout.locator("tr[data-arm]").all()
        }
        assert rows == {"treated": "18.0%", "held_out": "10.0%"}
        verdict = holdout.locator("p.verdict")
        assert "conclusive" in (await verdict.get_attribute("class") or "").split()
        assert await verdict.locator(".uplift").inner_text() == "+8.0"
        low, high = (await verdict.locator(".interval").inner_text()).split(" to ")
        assert 0 < float(low) < 8 < float(high)
        assert "treated adds +8.0 points of conversion" in await verdict.inner_text()
        assert await split_rows(t.page) == {"short": "1000", "long": "1000"}
        split = t.page.locator('section[data-experiment="steps.1"]')
        versus = split.locator('p.verdict[data-arm="long"][data-baseline="short"]')
        assert await versus.locator(".uplift").inner_text() == "+6.0"
        assert "long adds +6.0 points" in await versus.inner_text()
        await t.shot("experiment-uplift")


async def split_rows(page: Any) -> dict[str | None, str]:
    rows = page.locator('section[data-experiment="steps.1"] tr[data-arm]')
    return {
        await r.get_attribute("data-arm"): await r.locator(".finished").inner_text()
        for r in await rows.all()
    }


async def test_a_scenario_without_experiments_shows_no_such_card(
    browser: Any, stack: ConsoleStack
) -> None:
    async with tab(browser, stack) as t:
        await t.page.goto("/console/scenarios/console_play?days=1")
        assert await t.page.locator("#runs").count() == 1
        assert await t.page.locator("#experiments").count() == 0

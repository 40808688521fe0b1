"""Issue 23, "fits any screen": every console page at 1280 and 1920 px, kept as screenshots
(tests/output/screenshots/<width>/), with no table wider than its container and no serious or
critical accessibility violation found by axe-core (installed from npm at test time into
tests/output/axe, or by .ci/run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_core import axe_script
from console_browser import SCREENSHOTS, Tab, tab
from console_stack import ConsoleStack
from page_checks import check

WIDTHS = (1280, 1920)


@pytest.fixture(scope="module")
def axe() -> Path:
    return axe_script()


async def pages_of(t: Tab, stack: ConsoleStack) -> list[tuple[str, str]]:
    """(name, path) of every console page, with real data on it."""
    out = [("scenarios", "/console")]
    out += [(f"scenario-{s}", f"/console/scenarios/{s}?days=1") for s in sorted(stack.scenarios)]
    out += [("messages", "/console/messages"), ("customers", "/console/customers")]
    await t.page.goto("/console/messages")
    await t.page.locator('#messages tr:has-text("layout-1") a.view').first.click()
    out.append(("message", t.page.url))
    await t.page.goto("/console/customers")
    await t.page.locator("a.customer", has_text="layout-1").first.click()
    out.append(("customer", t.page.url))
    out.append(("preview", "/console/preview?scenario=console_play&template=play/reminder/email"))
    return out


@pytest.mark.parametrize("width", WIDTHS)
async def test_every_page_fits_and_passes_axe(
    browser: Any, stack: ConsoleStack, axe: Path, width: int
) -> None:
    if not any(m["customer_id"] == "layout-1" for m in await stack.messages_of("layout-1")):
        # One email skipped for want of consent, then the SMS sent: both show on the pages.
        await stack.basket("layout-1", {"first_name": "Lee", "consents": {"sms": True}})
        await stack.wait_sent("layout-1")
    folder = SCREENSHOTS / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    overflow: dict[str, Any] = {}
    violations: dict[str, Any] = {}
    async with tab(browser, stack, login=False, width=width, bypass_csp=True) as t:
        await t.page.goto("/console/login")
        await t.page.screenshot(path=str(folder / "login.png"), full_page=True)
        await check(t, "login", axe, overflow, violations)
        await t.login()
        for name, path in await pages_of(t, stack):
            await t.page.goto(path)
            await t.page.wait_for_load_state("networkidle")
            await t.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            await check(t, name, axe, overflow, violations)
    assert overflow == {}, f"tables wider than their container at {width}px: {overflow}"
    assert violations == {}, f"axe-core, serious or critical at {width}px: {violations}"

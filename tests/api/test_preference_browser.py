"""The preference center in Chromium at phone (390 px) and desktop (1280 px) width: it works
without JavaScript (a plain form post), axe-core finds no serious or critical violation, and
screenshots are kept in tests/output/screenshots/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from axe_core import axe_script
from preference_stack import preference_stack
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "output" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Chromium at /usr/bin/chromium: apt-get install chromium")
    axe_script()  # installed before the browser starts
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"], headless=True
        )
        yield launched
        await launched.close()


async def serious(page: Any) -> list[str]:
    await page.add_script_tag(path=str(axe_script()))
    found = await page.evaluate("axe.run().then(r => r.violations)")
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize(("width", "name"), [(390, "phone"), (1280, "desktop")])
async def test_preference_center_in_chromium(
    browser: Any, dev_env: WorkflowEnvironment, tmp_path: Path, width: int, name: str
) -> None:
    url = await migrated_sqlite(tmp_path)
    async with preference_stack(dev_env.client, tmp_path, url) as s:
        await s.customer(
            "ru1",
            email="ivan@example.com",
            phone="+15005550006",
            first_name="Иван <b>",
            locale="ru",
            consents={"email": True, "sms": True},
        )
        context = await browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=False
        )
        page = await context.new_page()
        await page.goto(s.link("ru1"))
        assert await page.title() == "Настройки сообщений"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"preferences-{name}.png"), full_page=True)
        # No JavaScript: tick, choose, submit as a customer would.
        await page.get_by_label("SMS").first.uncheck()
        await page.get_by_label("Webinars").uncheck()
        await page.get_by_role("radio", name="Эл. почта").check()
        await page.select_option("#pause", "1m")
        await page.get_by_role("button").click()
        await page.wait_for_url(lambda u: u.endswith("?saved=1"))
        assert "Сохранено" in await page.content()
        await page.screenshot(
            path=str(SCREENSHOTS / f"preferences-{name}-saved.png"), full_page=True
        )
        prefs = await s.prefs.preferences("ru1")
        assert prefs.topics == {"webinars": False} and prefs.preferred_channel == "email"
        assert prefs.paused_until is not None
        contact = await s.svc.contacts.get("ru1")
        assert contact is not None and contact.consents == {"email": True, "sms": False}
        # axe-core needs scripts (our CSP forbids them): a second context, same pages.
        checked = await browser.new_context(
            viewport={"width": width, "height": 900}, bypass_csp=True
        )
        audit = await checked.new_page()
        for target in (s.link("ru1"), s.link("ru1") + "?saved=1", "/p/not-a-token"):
            await audit.goto(target if target.startswith("http") else s.base + target)
            assert await serious(audit) == [], target
        await audit.screenshot(path=str(SCREENSHOTS / f"preferences-{name}-error.png"))
        await checked.close()
        await context.close()

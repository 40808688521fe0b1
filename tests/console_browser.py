"""A browser tab on the console stack: every request that leaves this machine is refused and
recorded (the customer's own shop, where tracked links lead, answers from a stub), every
JavaScript dialog is recorded (hostile data must never run), and screenshots go to
tests/output/screenshots/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from console_stack import PASSWORD, ConsoleStack

SCREENSHOTS = Path(__file__).resolve().parent / "output" / "screenshots"
LOCAL = ("127.0.0.1", "localhost")


@dataclass
class Tab:
    page: Any
    context: Any
    stack: ConsoleStack
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    shop_visits: list[str] = field(default_factory=list)

    async def login(self, secret: str = PASSWORD) -> None:
        await self.page.goto("/console/login")
        await self.page.fill("#secret", secret)
        await self.page.click("button[type=submit]")
        await self.page.wait_for_url("**/console")

    async def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    async def until(
        self, check: Callable[[], Awaitable[bool]], *, reload: bool = True, timeout: float = 20
    ) -> None:
        """Wait until ``check`` holds, reloading the page between looks unless ``reload`` is
        False (the pages that update themselves, after "play the customer" actions)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            assert asyncio.get_running_loop().time() < deadline, "not reached in time"
            await asyncio.sleep(0.3)
            if reload:
                await self.page.reload()


@asynccontextmanager
async def tab(
    browser: Any,
    stack: ConsoleStack,
    *,
    login: bool = True,
    width: int = 1400,
    bypass_csp: bool = False,
) -> AsyncIterator[Tab]:
    """``bypass_csp`` only for tests that inject a checker (axe-core) into the pages."""
    context = await browser.new_context(
        base_url=stack.base, viewport={"width": width, "height": 900}, bypass_csp=bypass_csp
    )
    opened = Tab(page=None, context=context, stack=stack)

    async def guard(route: Any) -> None:
        url = route.request.url
        host = urlparse(url).hostname
        if host in LOCAL and ("/t/c/" in url or "/s/" in url):
            # Routing never sees where a redirect leads: follow the tracked link's redirect
            # here, and answer for the shop it leads to.
            answer = await route.fetch(max_redirects=0)
            target = answer.headers.get("location", "")
            if urlparse(target).hostname != "shop.example":
                await route.fulfill(response=answer)
                return
            opened.shop_visits.append(target)
            await route.fulfill(status=200, content_type="text/html", body="<h1>The shop</h1>")
        elif host in LOCAL or url.startswith(("data:", "about:")):
            await route.continue_()
        elif host == "shop.example":  # where the customer's tracked link leads
            opened.shop_visits.append(url)
            await route.fulfill(status=200, content_type="text/html", body="<h1>The shop</h1>")
        else:
            opened.external.append(url)
            await route.abort()

    async def dialog(d: Any) -> None:
        opened.dialogs.append(d.message)
        await d.dismiss()

    await context.route("**/*", guard)
    context.on("page", lambda p: p.on("dialog", dialog))
    opened.page = await context.new_page()
    try:
        if login:
            await opened.login()
        yield opened
    finally:
        await context.close()
    assert opened.external == [], f"the console loaded from outside: {opened.external}"
    assert opened.dialogs == [], f"a script ran: {opened.dialogs}"

"""The console in a real browser (the OS's Chromium through Playwright), on the whole stack:
log in, read a diagram and its funnel, play the customer, preview, test send, and the
refusals. Each page is kept as a screenshot under tests/output/screenshots/."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlparse

from console_browser import tab
from console_stack import HOSTILE, ConsoleStack

from orchestrator.language.model import iter_steps


async def test_log_in_and_see_the_scenarios(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack, login=False) as t:
        await t.page.goto("/console")
        assert t.page.url.endswith("/console/login")
        await t.shot("login")
        await t.login()
        rows = t.page.locator("#scenarios tr[data-scenario]")
        assert await rows.count() == len(stack.scenarios)
        for s in stack.scenarios.values():
            row = t.page.locator(f'#scenarios tr[data-scenario="{s.id}"]')
            assert s.version in await row.inner_text()
            assert "valid" in await row.inner_text()
        assert "every scenario and template is valid" in await t.page.inner_text("main")
        await t.shot("scenarios")


async def test_a_diagram_shows_every_step(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack) as t:
        for s in stack.scenarios.values():
            await t.page.goto(f"/console/scenarios/{s.id}")
            paths = ["trigger"]
            for step in iter_steps(s.steps):
                paths.append(step.path)
                paths += [f"{step.path}.rung{i + 1}" for i in range(len(step.rungs))]
            for path in paths:
                node = t.page.locator(f'svg.diagram [data-step="{path}"]')
                assert await node.count() == 1, f"{s.id}: {path} missing"
                assert await node.is_visible(), f"{s.id}: {path} hidden"
            if s.id in ("browse_followup", "abandoned_cart", "webinar_reminder"):
                await t.shot(f"diagram-{s.id}")


async def test_an_event_moves_the_funnel(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack) as t:
        await t.page.goto("/console/scenarios/console_play?days=1")
        rung = t.page.locator('#funnel tr[data-step="steps.1.rung1"][data-channel="email"] .sent')

        async def counts() -> tuple[int, int]:
            sent = int(await rung.inner_text()) if await rung.count() else 0
            return int(await t.page.inner_text("#entered")), sent

        entered, sent = await counts()
        await stack.basket("funnel-1")
        await stack.wait_sent("funnel-1")

        async def moved() -> bool:
            return await counts() == (entered + 1, sent + 1)

        await t.until(moved)
        note = t.page.locator('svg.diagram [data-step="steps.1.rung1"] .count')
        assert f"sent {sent + 1}" in (await note.text_content() or "")
        await t.shot("funnel")


async def test_click_in_an_email_as_the_customer_and_the_run_reacts(
    browser: Any, stack: ConsoleStack
) -> None:
    wid = await stack.basket("player", {"first_name": "Pat"})
    await stack.wait_sent("player")
    async with tab(browser, stack) as t:
        await t.page.goto("/console/messages")
        await t.page.locator('#messages tr:has-text("player") a.view').first.click()
        await t.page.wait_for_selector("iframe.email")
        assert await t.page.inner_text("#subject") == "Your basket is waiting"
        email = t.page.frame_locator("iframe.email")
        assert "Hello Pat" in await email.locator("body").inner_text()
        # Exactly what was sent: the unsubscribe footer the customer got is there too.
        assert await email.locator("a", has_text="Unsubscribe").count() == 1
        await t.shot("message-email")
        async with t.page.expect_popup() as popup:
            await email.locator("a#back").click()
        shop = await popup.value
        await shop.wait_for_load_state()
        assert t.shop_visits == ["https://shop.example/cart"]  # through the tracked redirect
        await shop.close()
        await t.page.click("text=player")  # the customer's page
        outcome = t.page.locator(f'#runs tr[data-workflow="{wid}"] .outcome')

        async def reacted() -> bool:
            return bool(await outcome.count() == 1 and await outcome.inner_text() == "reacted")

        await t.until(reacted)
        await t.shot("customer")


async def test_preview_a_template_in_two_locales(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack) as t:
        await t.page.goto("/console/preview?scenario=console_play&template=play/reminder/email")
        assert await t.page.inner_text("#subject") == "Your basket is waiting"
        frame = t.page.frame_locator("iframe.email")
        assert "Hello Alex" in await frame.locator("body").inner_text()
        assert "bytes as sent" in await t.page.inner_text("#facts")
        await t.shot("preview-en")
        await t.page.click('a.locale[data-locale="ru"]')
        await t.page.wait_for_selector('#rendered[data-locale="ru"]')
        assert await t.page.inner_text("#subject") == "Ваша корзина ждёт"
        assert "Здравствуйте, Alex" in await frame.locator("body").inner_text()
        await t.shot("preview-ru")
        await t.page.goto("/console/preview?scenario=console_play&template=play/reminder/sms")
        assert "1 segment(s), GSM-7" in await t.page.inner_text("#facts")
        assert "https://shop.example/cart" in await t.page.inner_text(".phone .bubble.sms a")
        await t.shot("preview-sms")


async def test_push_and_telegram_show_as_phone_mockups(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack) as t:
        base = "/console/preview?scenario=abandoned_cart&template=abandoned_cart/reminder/"
        await t.page.goto(base + "telegram&locale=ru")
        button = t.page.locator(".phone .tg-buttons a")
        assert await button.inner_text() == "Открыть корзину"
        assert await button.get_attribute("href") == "https://shop.example/cart/c-981"
        assert await t.page.locator(".phone .bubble.telegram b").count() == 1  # its own <b>
        await t.shot("preview-telegram")
        await t.page.goto(base + "push")
        assert await t.page.inner_text(".phone .notification .title")
        await t.shot("preview-push")


async def test_a_test_send_arrives_in_the_dev_sink(browser: Any, stack: ConsoleStack) -> None:
    async with tab(browser, stack) as t:
        await t.page.goto("/console/preview?scenario=console_play&template=play/reminder/email")
        # Only declared test recipients are offered (OMNI_TEST_RECIPIENTS: one email, one phone).
        offered = t.page.locator('#test-send select[name="address"] option')
        assert await offered.all_inner_texts() == ["qa@example.com"]
        await t.page.select_option('#test-send select[name="address"]', "qa@example.com")
        send = t.page.locator("#test-send button[type=submit]")
        await send.scroll_into_view_if_needed()  # below the fold at 1400 x 900, as a user scrolls
        await send.click()
        assert "Test sent by email" in await t.page.inner_text("#sent")
        await t.shot("test-send")
        mail: list[bytes] = []
        for _ in range(50):
            mail = [p.read_bytes() for p in stack.mail.glob("*.eml")]
            if any(b"qa@example.com" in m for m in mail):
                break
            await asyncio.sleep(0.1)
        sent = [m for m in mail if b"To: qa@example.com" in m]
        assert len(sent) == 1 and b"Subject: [test] Your basket is waiting" in sent[0]
        await t.page.goto("/console/messages?scenario=console_play")
        assert "test send by password" in await t.page.inner_text("#messages")


async def test_hostile_customer_data_shows_as_text(browser: Any, stack: ConsoleStack) -> None:
    for customer, names in HOSTILE.items():
        await stack.basket(customer, names)
    for customer in HOSTILE:
        await stack.wait_sent(customer)
    async with tab(browser, stack) as t:
        await t.page.goto("/console/customers")
        shown = await t.page.locator("#customers td.name").all_inner_texts()
        assert "<script>alert(1)</script> <b>bold</b>" in shown
        assert any("Ω & <> 𝔘𝔫𝔦" in name for name in shown)
        assert await t.page.locator("#customers td.name b").count() == 0
        await t.shot("customers")
        for customer, names in HOSTILE.items():
            await t.page.goto("/console/customers")
            await t.page.click(f'#customers a.customer:text-is("{customer}")')
            name = await t.page.inner_text("#name")
            assert " ".join(names["first_name"].split()) in " ".join(name.split())
            await t.page.locator("#customer-messages a", has_text="view").first.click()
            body = await t.page.frame_locator("iframe.email").locator("body").inner_text()
            assert " ".join(names["first_name"].split()) in " ".join(body.split())
            if customer == "x-script":
                await t.shot("message-hostile")


async def test_strangers_and_cross_site_posts_are_refused(
    browser: Any, stack: ConsoleStack
) -> None:
    from aiohttp import web

    from orchestrator.api.serve import free_port

    async with tab(browser, stack, login=False) as t:
        for path in ("/console/customers", "/console/messages", "/console/scenarios/console_play"):
            await t.page.goto(path)
            assert t.page.url.endswith("/console/login")
            assert "x-script" not in await t.page.content()
        answer = await t.page.request.post(
            "/console/test-send", form={"address": "thief@example.com"}
        )
        assert answer.status == 403
    forged = (
        f'<form method="post" action="{stack.base}/console/test-send">'
        '<input name="csrf" value="forged"><input name="scenario" value="console_play">'
        '<input name="template" value="play/reminder/email">'
        '<input name="address" value="thief@example.com"><button id="go">win</button></form>'
    )

    async def evil(_: web.Request) -> web.Response:
        return web.Response(text=forged, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", evil)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with tab(browser, stack) as t:
            await t.page.goto(f"http://localhost:{port}/")
            async with t.page.expect_response(f"{stack.base}/console/test-send") as posted:
                await t.page.click("#go")
            assert (await posted.value).status == 403
            await t.shot("refused")
    finally:
        await runner.cleanup()
    assert not any(b"thief@example.com" in p.read_bytes() for p in stack.mail.glob("*.eml"))


async def test_open_reply_and_unsubscribe_as_the_customer(
    browser: Any, stack: ConsoleStack
) -> None:
    await stack.basket("actor", {"first_name": "Ada"})
    await stack.wait_sent("actor")
    async with tab(browser, stack) as t:
        await t.page.goto("/console/messages")
        await t.page.locator('#messages tr:has-text("actor") a.view').first.click()
        await t.page.wait_for_selector("iframe.email")
        # Issue 23: every action's effect shows on this very page, which is never reloaded
        # nor left: the marker set on it now must survive each action.
        await t.page.evaluate("window.omniPlayed = 'this page'")

        async def shows(cell: str, text: str = "") -> None:
            await t.page.wait_for_function(
                "([id, text]) => { const v = document.getElementById(id).textContent.trim();"
                " return text ? v.includes(text) : v !== '–' && v !== ''; }",
                arg=[cell, text],
            )
            assert await t.page.evaluate("window.omniPlayed") == "this page", cell
            loads = await t.page.evaluate("performance.getEntriesByType('navigation').length")
            assert loads == 1, cell

        async with t.page.expect_response(lambda r: "/t/o/" in r.url) as pixel:
            await t.page.click("#open")
        assert (await pixel.value).status == 200
        await shows("opened")
        assert "Opened as the customer" in await t.page.inner_text("#play-result")

        email = t.page.frame_locator("iframe.email")
        async with t.page.expect_popup() as popup:
            await email.locator("a#back").click()
        shop = await popup.value
        await shop.wait_for_load_state()
        await shop.close()
        await shows("clicked")

        await t.page.click("#reply")
        await shows("play-result", "Replied as the customer")
        await shows("replied")
        assert await t.page.inner_text("#status") == "sent"

        assert await t.page.inner_text("#subscription") == "subscribed"
        message_path = urlparse(t.page.url).path
        looks: list[str] = []
        t.page.on(
            "request",
            lambda r: looks.append(r.url) if urlparse(r.url).path == message_path else None,
        )
        async with t.page.expect_popup() as popup:
            await t.page.click("#unsubscribe")
        unsubscribe = await popup.value
        # The customer takes their time on the unsubscribe page: meanwhile this page keeps
        # looking (nothing it sees has changed), so their choice shows when it is made.
        seen = len(looks)

        async def kept_looking() -> bool:
            return len(looks) >= seen + 4

        await t.until(kept_looking, reload=False)
        await unsubscribe.click("button[type=submit]")
        assert "You are unsubscribed" in await unsubscribe.inner_text("h1")
        await unsubscribe.close()
        await shows("subscription", "unsubscribed")
        await t.shot("message-played")

        await t.page.click("text=actor")
        assert "unsubscribed" in await t.page.inner_text("#suppressions")
        assert "unsubscribe link" in await t.page.inner_text("#consents")
        await t.shot("customer-unsubscribed")

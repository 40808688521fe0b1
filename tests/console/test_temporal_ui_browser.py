"""What an engineer sees of a run in the Temporal UI (a dev server with its UI, driven by
Chromium): the run's summary and details, the current details kept up to date by the
workflow, and the timers' summaries. Screenshots go to tests/output/screenshots/ (the README's
come from here)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from accepting import AcceptingChannel
from harness import FULL_CONTACT, quick_cart

from orchestrator.api.serve import free_port
from orchestrator.dev.devserver import start_dev_server
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.messages import EventSignal
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.model import CHANNELS

SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"


async def test_the_temporal_ui_shows_what_a_run_is_doing(browser: Any, tmp_path: Path) -> None:
    ui_port = free_port()
    env = await start_dev_server(port=free_port(), ui=True, ui_port=ui_port)
    scenario = quick_cart(tmp_path, first_wait="1s", rung_wait="4h")
    customers = [f"ui-{uuid.uuid4().hex[:6]}-{i}" for i in range(2)]
    contacts = [Contact.model_validate({**FULL_CONTACT, "id": c}) for c in customers]
    queue = f"ui-{uuid.uuid4()}"
    activities = Activities(
        directory=InMemoryDirectory(contacts),
        send_log=InMemorySendLog(),
        channels={c: AcceptingChannel(c) for c in CHANNELS},
    )
    async with env, build_worker(env.client, task_queue=queue, activities=activities):
        router = Router(env.client, {scenario.id: scenario}, task_queue=queue)
        wids = []
        for c in customers:  # two customers, the same cart id: two runs, each its own
            cart = {"cart": {"id": "c-1", "total": 5}}
            wids += (
                await router.route(EventSignal("cart_updated", f"{c}-e", c, data=cart))
            ).started_or_signalled
        for _ in range(150):
            states = [await env.client.get_workflow_handle(w).query("state") for w in wids]
            if all(s.get("messages") for s in states):
                break
            await asyncio.sleep(0.1)
        context = await browser.new_context(viewport={"width": 1500, "height": 1000})
        page = await context.new_page()
        base = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows"
        try:
            await page.goto(f"{base}/{quote(wids[0], safe='')}")
            body = page.locator("body")
            # The timeline names each timer by what it waits for.
            timer = body.get_by_text("Wait 4 h for a reaction to Ladder · 1. email")
            await timer.first.wait_for(timeout=30_000)
            timeline = await body.inner_text()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "temporal-ui-run.png"))
            await page.get_by_text("User Metadata", exact=True).first.click()
            await body.get_by_text("Current Details").first.wait_for(timeout=30_000)
            text = ""
            for _ in range(100):  # the UI renders each Markdown field in a frame of its own
                await asyncio.sleep(0.2)
                texts = [await f.locator("body").inner_text() for f in page.frames]
                text = " ".join(" ".join(texts).split())
                if "sent so far: email" in text:
                    break
            await page.screenshot(path=str(SCREENSHOTS / "temporal-ui-metadata.png"))
            query = quote('WorkflowType="ScenarioRun"')
            await page.goto(f"{base}?query={query}")
            await body.get_by_text(customer_ref(customers[1])).first.wait_for(timeout=30_000)
            listing = await body.inner_text()
            await page.screenshot(path=str(SCREENSHOTS / "temporal-ui-runs.png"), full_page=True)
        finally:
            await context.close()
            for w in wids:
                await env.client.get_workflow_handle(w).terminate("test done")
    # The run's page: its summary (scenario, customer reference, run key) and what it waits for.
    assert f"customer {customer_ref(customers[0])}" in text
    assert "quick_cart" in text
    assert (
        "Ladder · 1. email: waiting up to 4 h for a reaction to quick/reminder"
        " · next: Ladder · 2. sms" in text
    )
    assert customer_ref(customers[1]) not in text  # one customer's page, one customer
    assert "Wait 1 s" in timeline and "send email: quick/reminder" in timeline
    # The list: each run's summary names its own customer.
    assert all(customer_ref(c) in listing for c in customers)
    for value in (FULL_CONTACT["email"], FULL_CONTACT.get("phone", "")):  # never an address
        assert not value or (value not in text and value not in listing)

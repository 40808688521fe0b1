"""Issue 23: a customer whose reminders all came too late sees them skipped, each with its
reason, on the customer page, in Messages, in the funnel and in /metrics — never "no
messages". Two customers sharing an email both answer a search for it."""

from __future__ import annotations

import asyncio
import re
import uuid

from console_stack import ConsoleStack, csrf_of, logged_in, profile_of


async def test_reminders_too_late_show_as_skipped_everywhere(stack: ConsoleStack) -> None:
    customer = f"late-{uuid.uuid4().hex[:6]}"
    body = {
        "name": "webinar_registered",
        "customer_id": customer,
        "event_id": f"ev-{customer}",
        "data": {
            "webinar": {
                "id": customer,
                "title": "Past",
                "starts_at": "2020-01-01T10:00:00Z",
                "url": "https://shop.example/w",
            }
        },
        "contact": {"email": f"{customer}@example.com", "phone": "+15005550006"},
    }
    answer = await stack.http.post("/v1/events", json=body, headers=stack.auth)
    assert answer.status_code == 202, answer.text
    for _ in range(200):
        rows = await stack.messages_of(customer)
        if len(rows) == 5:  # email, then telegram and sms twice: each too late
            break
        await asyncio.sleep(0.1)
    assert sorted((r["step"], r["channel"]) for r in rows) == [
        ("steps.2", "email"),
        ("steps.4.then.1", "sms"),
        ("steps.4.then.1", "telegram"),
        ("steps.6.then.1", "sms"),
        ("steps.6.then.1", "telegram"),
    ]
    assert {(r["status"], r["reason"].split(":")[0]) for r in rows} == {("skipped", "too_late")}

    profile = await profile_of(stack, customer)
    assert "no messages" not in profile
    assert profile.count("skipped · too late") == 5 + 1  # five rows and the count above them
    assert re.search(r"skipped · too late <b>5</b>", profile)
    assert "Send email: webinar/reminder_24h" in profile and "steps.2<" not in profile

    async with logged_in(stack) as client:
        funnel = (await client.get("/console/scenarios/webinar_reminder?days=1")).text
        listed = (await client.get("/console/messages?scenario=webinar_reminder")).text
    assert re.search(r'data-reason="too_late" href="[^"]*reason=too_late">too late <b>', funnel)
    assert "skipped · too late" in listed
    metrics = (await stack.http.get("/metrics")).text
    assert re.search(
        r'omni_send_skips_total\{channel="email",reason="too_late",scenario="webinar_reminder"\}'
        r" [1-9]",
        metrics,
    ), [line for line in metrics.splitlines() if "omni_send_skips" in line]


async def test_a_search_lists_every_customer_with_that_email(stack: ConsoleStack) -> None:
    shared = f"shared-{uuid.uuid4().hex[:6]}@example.com"
    for who in ("twin-a", "twin-b"):
        answer = await stack.http.put(
            f"/v1/contacts/{who}", json={"email": shared}, headers=stack.auth
        )
        assert answer.status_code in (200, 201), answer.text
    async with logged_in(stack) as client:
        page = await client.get("/console/customers")
        found = await client.post(
            "/console/customers",
            data={"q": shared, "csrf": csrf_of(page.text)},
            headers={"Origin": stack.base},
        )
    assert found.status_code == 200, found.text
    assert "2 customers match" in found.text
    assert ">twin-a</a>" in found.text and ">twin-b</a>" in found.text

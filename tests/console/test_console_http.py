"""The console over plain HTTP: logins, CSRF and origin checks, references instead of customer
data in URLs, the docs offline, and the funnel's numbers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from console_stack import (
    PASSWORD,
    PLAY,
    ConsoleStack,
    console_stack,
    csrf_of,
    log_in,
    logged_in,
    profile_of,
    run_row,
)
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.ids import spread_delay


async def test_root_redirects_and_pages_need_a_login(stack: ConsoleStack) -> None:
    root = await stack.http.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/console"
    for path in ("/console", "/console/messages", "/console/customers", "/console/preview"):
        answer = await stack.http.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    refused = await stack.http.post("/console/customers", data={"q": "x-script"})
    assert refused.status_code == 403


async def test_login_with_password_or_api_key_sets_a_strict_httponly_cookie(
    stack: ConsoleStack,
) -> None:
    for secret in (PASSWORD, stack.key):
        async with httpx.AsyncClient(base_url=stack.base) as client:
            answer = await log_in(client, secret)
            cookie = next(
                c for c in answer.headers.get_list("set-cookie") if c.startswith("omni_console=")
            ).lower()
            assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
            page = await client.get("/console")
            assert page.status_code == 200 and "console_play" in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
    async with httpx.AsyncClient(base_url=stack.base) as bad:
        wrong = await log_in(bad, "guess")
        assert wrong.status_code == 401
        assert not any(c.startswith("omni_console=") for c in wrong.headers.get_list("set-cookie"))
        assert (await bad.get("/console")).status_code == 303


async def test_forms_need_the_csrf_token_and_the_same_origin(stack: ConsoleStack) -> None:
    async with logged_in(stack) as client:
        page = await client.get("/console/customers")
        token = csrf_of(page.text)
        no_token = await client.post("/console/customers", data={"q": "nobody"})
        assert no_token.status_code == 403
        other_site = await client.post(
            "/console/customers",
            data={"q": "nobody", "csrf": token},
            headers={"Origin": "http://evil.example"},
        )
        assert other_site.status_code == 403
        fine = await client.post(
            "/console/customers",
            data={"q": "nobody", "csrf": token},
            headers={"Origin": stack.base},
        )
        assert fine.status_code == 303


async def test_customer_urls_carry_no_customer_data(stack: ConsoleStack) -> None:
    await stack.basket("ref-check.7", {"first_name": "Refina"})
    async with logged_in(stack) as client:
        page = await client.get("/console/customers")
        answer = await client.post(
            "/console/customers",
            data={"q": "ref-check.7@example.com", "csrf": csrf_of(page.text)},
            headers={"Origin": stack.base},
        )
        location = answer.headers["location"]
        assert answer.status_code == 303 and location.startswith("/console/customers/")
        assert "ref-check" not in location and "example" not in location
        profile = await client.get(location)
        assert profile.status_code == 200 and "Refina" in profile.text
        tampered = await client.get(location[:-4] + "AAAA")
        assert tampered.status_code == 404
    anonymous = await stack.http.get(location)
    assert anonymous.status_code == 303 and "Refina" not in anonymous.text


async def test_docs_work_offline_with_a_bearer_scheme_and_a_typed_contact(
    stack: ConsoleStack,
) -> None:
    docs = await stack.http.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert (await stack.http.get(asset)).status_code == 200, asset
    spec = (await stack.http.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "omni_<id>.<secret>",
        "description": "An API key from `omni api-key create NAME --scope ingest,read`",
    }
    put = spec["paths"]["/v1/contacts/{contact_id}"]["put"]
    assert put["security"] == [{"bearer": []}]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ContactFields"}
    assert "email" in spec["components"]["schemas"]["ContactFields"]["properties"]
    typo = await stack.http.put("/v1/contacts/t1", json={"emial": "a@b.c"}, headers=stack.auth)
    assert typo.status_code == 422 and "emial" in typo.text


async def test_the_diagram_svg_has_every_step(stack: ConsoleStack) -> None:
    async with logged_in(stack) as client:
        svg = await client.get("/console/scenarios/browse_followup/diagram.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    for path in ("trigger", "steps.1", "steps.1.on_event.1", "steps.1.on_event.2", "steps.2"):
        assert f'data-step="{path}"' in svg.text


async def test_a_running_run_shows_its_step_and_next_wake_up(stack: ConsoleStack) -> None:
    wid = await stack.basket("waiting-1")
    await stack.wait_sent("waiting-1")
    row = run_row(await profile_of(stack, "waiting-1"), wid)
    # What it waits for, from its open timer (its history: no query, no billable action).
    assert "running" in row and "Wait 30 s for a reaction to Ladder · 1. email" in row
    assert len(re.findall(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z"', row)) == 2  # + wake-up
    assert "/namespaces/default/workflows/" in row


async def test_preview_with_a_real_contacts_data_is_posted(stack: ConsoleStack) -> None:
    await stack.http.put(
        "/v1/contacts/previewed",
        json={"first_name": "Quinn", "locale": "ru-RU"},
        headers=stack.auth,
    )
    async with logged_in(stack) as client:
        page = await client.get(
            "/console/preview",
            params={"scenario": "console_play", "template": "play/reminder/email"},
        )
        assert "Alex" in page.text and "Quinn" not in page.text  # the sample contact
        shown = await client.post(
            "/console/preview",
            data={
                "csrf": csrf_of(page.text),
                "scenario": "console_play",
                "template": "play/reminder/email",
                "locale": "ru",
                "customer": "previewed",
            },
            headers={"Origin": stack.base},
        )
    assert shown.status_code == 200
    assert "Здравствуйте, Quinn!" in shown.text and "customer previewed" in shown.text


SPREAD_PLAY = (
    PLAY.replace("scenario: console_play", "scenario: console_spread")
    .replace("basket_left", "basket_spread")  # its own trigger: console_play stays out
    .replace("per: cart.id}", "per: cart.id, spread: 2h}")
    .replace("title: Console play", "title: Console spread")
)


async def test_a_run_in_its_start_delay_shows_when_it_starts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """``trigger.spread``: Temporal answers no query before the run's first step; the profile
    still lists the run, as waiting to start, with the moment it starts, for its customer only."""
    customers = ["spread-1", "spread-2"]
    cart = next(  # a cart both customers' runs wait at least 10 minutes for
        c
        for c in (f"c-{uuid.uuid4().hex[:8]}" for _ in range(1000))
        if all(
            spread_delay(f"console_spread/customer-{who}/cart-{c}", 7200) >= 600
            for who in customers
        )
    )
    async with console_stack(dev_env, tmp_path, {"spread.yaml": SPREAD_PLAY}) as stack:
        for who in customers:
            body = {
                "name": "basket_spread",
                "customer_id": who,
                "event_id": f"ev-{who}",
                "data": {"cart": {"id": cart, "total": 1, "url": "https://shop.example/c"}},
                "contact": {"email": f"{who}@example.com", "consents": {"email": True}},
            }
            answer = await stack.http.post("/v1/events", json=body, headers=stack.auth)
            assert answer.status_code == 202, answer.text
            runs = answer.json()["results"][0]["runs"]
            assert runs == [f"console_spread/customer-{who}/cart-{cart}"], answer.text
        wid = f"console_spread/customer-spread-1/cart-{cart}"
        profile = await profile_of(stack, "spread-1")
        row = run_row(profile, wid)
        assert "waiting to start (spread)" in row
        moments = re.findall(r'<time datetime="(\d{4}-\d\d-\d\dT[\d:.]+)Z"', row)
        assert len(moments) == 2, row  # started, then the next wake-up
        starts = datetime.fromisoformat(moments[1]).replace(tzinfo=UTC)
        left = (starts - datetime.now(UTC)).total_seconds()
        assert abs(left - spread_delay(wid, 7200)) < 30
        assert "customer-spread-2" not in profile
        for who in customers:
            await stack.svc.client.get_workflow_handle(
                f"console_spread/customer-{who}/cart-{cart}"
            ).terminate("test over")

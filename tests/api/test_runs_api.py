"""The run API: a customer's runs, one run's state, cancelling a run with a reason."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from api_stack import Api
from temporalio.api.enums.v1 import EventType

from orchestrator.engine.ids import id_part, spread_delay, workflow_id


async def test_customer_runs_one_run_and_cancel(api: Api) -> None:
    started = await api.client.post("/v1/events", headers=api.auth, json=api.event("r1"))
    assert started.json()["results"][0]["runs"] == [api.wid]
    listed = await api.client.get("/v1/contacts/42/runs", headers=api.auth)
    assert listed.status_code == 200, listed.text
    runs = listed.json()["runs"]
    mine = [r for r in runs if r["workflow_id"] == api.wid]
    assert len(mine) == 1 and mine[0]["status"] == "running"
    assert mine[0]["scenario"] == "quick_cart" and mine[0]["customer_id"] == "42"
    assert all(r["customer_id"] == "42" for r in runs)
    # Workflow ids contain "/": plain or percent-encoded, both reach the run.
    plain = await api.client.get(f"/v1/runs/{api.wid}", headers=api.auth)
    encoded = await api.client.get(f"/v1/runs/{quote(api.wid, safe='')}", headers=api.auth)
    assert plain.status_code == encoded.status_code == 200, plain.text
    assert plain.json()["workflow_id"] == encoded.json()["workflow_id"] == api.wid
    # Free: the timer it waits on names the step in the console's words; live, its path.
    assert plain.json()["current_step"] == "Wait 1 h" and plain.json()["next_wakeup"]
    live = await api.client.get(f"/v1/runs/{api.wid}?live=true", headers=api.auth)
    assert live.json()["current_step"] == "steps.1"
    # The same timer: the run's clock at the command, the server's at the event.
    wakes = [datetime.fromisoformat(r.json()["next_wakeup"]) for r in (live, plain)]
    assert abs((wakes[0] - wakes[1]).total_seconds()) < 1, wakes
    missing = await api.client.get("/v1/runs/quick_cart/customer-42/nope", headers=api.auth)
    assert missing.status_code == 404
    cancelled = await api.client.post(
        f"/v1/runs/{api.wid}/cancel", headers=api.auth, json={"reason": "asked support"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "ended"
    assert cancelled.json()["outcome"] == "cancelled"
    state = await api.svc.client.get_workflow_handle(api.wid).query("state")
    assert "cancelled: asked support" in [e.get("reason") for e in state["timeline"]]
    again = await api.client.post(
        f"/v1/runs/{api.wid}/cancel", headers=api.auth, json={"reason": "twice"}
    )
    assert again.status_code == 409
    no_reason = await api.client.post(f"/v1/runs/{api.wid}/cancel", headers=api.auth, json={})
    assert no_reason.status_code == 422
    assert (await api.client.get(f"/v1/runs/{api.wid}")).status_code == 401


async def test_run_api_is_documented_with_examples(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert "get" in paths["/v1/contacts/{contact_id}/runs"]
    assert "get" in paths["/v1/runs/{workflow_id}"]
    assert "post" in paths["/v1/runs/{workflow_id}/cancel"]
    schemas = spec["components"]["schemas"]
    for name in ("RunOut", "RunsOut", "CancelIn"):
        assert schemas[name].get("examples"), name


@pytest.mark.spread("2h")
async def test_a_run_in_its_start_delay_is_scheduled_and_can_be_cancelled(api: Api) -> None:
    """``trigger.spread``: Temporal refuses queries until the run's first step; the API still
    says whose run it is and when it starts, for each customer, and takes a cancel."""
    customers = ["42", "43<script>"]
    # A cart whose runs both wait at least 10 minutes (a query to a run whose delay ends
    # within the query's deadline waits for it instead).
    api.cart = next(
        cart
        for cart in (f"c-{uuid.uuid4().hex[:10]}" for _ in range(1000))
        if all(spread_delay(run_id(cart, c), 7200) >= 600 for c in customers)
    )
    wids = {}
    for i, customer in enumerate(customers):
        posted = await api.client.post(
            "/v1/events", headers=api.auth, json=api.event(f"s{i}", customer=customer)
        )
        [wids[customer]] = posted.json()["results"][0]["runs"]
    assert wids == {c: run_id(api.cart, c) for c in customers}
    for customer in customers:
        listed = await api.client.get(
            f"/v1/contacts/{quote(customer, safe='')}/runs", headers=api.auth
        )
        assert listed.status_code == 200, listed.text
        [run] = listed.json()["runs"]
        assert run["workflow_id"] == wids[customer]
        assert (run["status"], run["customer_id"], run["outcome"]) == ("scheduled", customer, "")
        assert run["scenario"] == "quick_cart" and run["messages"] == []
        starts = datetime.fromisoformat(run["next_wakeup"])
        delay = spread_delay(wids[customer], 7200)
        assert abs((starts - datetime.now(UTC)).total_seconds() - delay) < 30
    wid = wids["42"]
    one = await api.client.get(f"/v1/runs/{wid}", headers=api.auth)
    assert one.status_code == 200 and one.json()["status"] == "scheduled", one.text
    cancelled = await api.client.post(
        f"/v1/runs/{wid}/cancel", headers=api.auth, json={"reason": "asked support"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "scheduled"
    history = await api.svc.client.get_workflow_handle(wid).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    # The run's first step sees both, in order (test_start_spread.py: it ends, sending nothing).
    assert signals == ["event", "cancel"]
    for each in wids.values():
        await api.svc.client.get_workflow_handle(each).terminate("test over")
    assert not any(o.sent for o in api.providers.values())


def run_id(cart: str, customer: str) -> str:
    return workflow_id("quick_cart", f"customer-{id_part(customer)}/cart-{cart}")


@pytest.mark.first_wait("1s")
async def test_a_running_runs_view_is_free_and_shows_only_its_own_messages(api: Api) -> None:
    """Three customers, a cart key two of them share and a customer with two carts, events
    interleaved: each run's free view lists exactly its own sends (as its live state does),
    and a reaction shows on the run it belongs to only."""
    shared, own = f"{api.cart}-shared", f"{api.cart}-own"
    carts = {"ann": [shared, own], "bob": [shared], "cy": [own]}
    contact = {"consents": {"email": True}}
    for i, (who, cart) in enumerate([("ann", shared), ("bob", shared), ("cy", own), ("ann", own)]):
        event = {
            "name": "cart_updated",
            "customer_id": who,
            "event_id": f"{api.cart}-e{i}",
            "data": {"cart": {"id": cart, "total": 9}},
            "contact": {**contact, "email": f"{who}@example.com"},
        }
        assert (
            await api.client.post("/v1/events", headers=api.auth, json=event)
        ).status_code == 202
    runs = {
        (who, cart): f"quick_cart/customer-{who}/cart-{cart}"
        for who, mine in carts.items()
        for cart in mine
    }
    views: dict[tuple[str, str], dict[str, Any]] = {}
    for _ in range(200):  # each run sends its email after a second, then waits 4 h
        views = {
            run: (await api.client.get(f"/v1/runs/{wid}", headers=api.auth)).json()
            for run, wid in runs.items()
        }
        # A send under way shows as "sending" (handed over, the provider not answered yet).
        if all([m["status"] for m in v["messages"]] == ["sent"] for v in views.values()):
            break
        await asyncio.sleep(0.1)
    api.calls.count.clear()
    for (who, _cart), wid in runs.items():
        view = (await api.client.get(f"/v1/runs/{wid}", headers=api.auth)).json()
        [sent] = view["messages"]
        assert view["customer_id"] == who and sent["key"].startswith(f"{wid}/")
        assert (sent["channel"], sent["status"], sent["kind"]) == ("email", "sent", "send")
        assert view["next_wakeup"] and view["engagement"] == {
            "opened": False,
            "clicked": False,
            "replied": False,
        }
    assert api.calls.billable == 0, api.calls.count
    # The provider got one email per run, each at its own customer's address.
    outbound = api.providers["email"].sent
    assert sorted((o.customer_id, o.address) for o in outbound) == sorted(
        (who, f"{who}@example.com") for who, _ in runs
    )
    # Bob opens his: his run shows it, Ann's run of the same cart key does not.
    bob = next(o for o in outbound if o.customer_id == "bob")
    assert api.svc.tracker is not None
    pixel = api.svc.tracker.pixel_url(
        run_id=runs["bob", shared], message_key=bob.key, customer_id="bob"
    )
    assert (await api.client.get(pixel.removeprefix(str(api.client.base_url)))).status_code == 200
    opened = (await api.client.get(f"/v1/runs/{runs['bob', shared]}", headers=api.auth)).json()
    assert opened["engagement"]["opened"] is True
    for run in (("ann", shared), ("ann", own), ("cy", own)):
        other = (await api.client.get(f"/v1/runs/{runs[run]}", headers=api.auth)).json()
        assert other["engagement"]["opened"] is False, run
    # The live state (1 action) agrees on what was sent.
    live = await api.client.get(f"/v1/runs/{runs['ann', own]}?live=true", headers=api.auth)
    free = (await api.client.get(f"/v1/runs/{runs['ann', own]}", headers=api.auth)).json()
    assert [(m["key"], m["status"]) for m in live.json()["messages"]] == [
        (m["key"], m["status"]) for m in free["messages"]
    ]

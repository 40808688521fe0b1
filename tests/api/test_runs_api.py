"""The run API: a customer's runs, one run's state, cancelling a run with a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
    assert plain.json()["current_step"] == "steps.1"
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

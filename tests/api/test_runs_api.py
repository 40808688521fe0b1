"""The run API: a customer's runs, one run's state, cancelling a run with a reason."""

from __future__ import annotations

from urllib.parse import quote

from api_stack import Api


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

"""Issue 11: POST /v1/events reports data a scenario could not use; strict mode rejects it."""

from __future__ import annotations

from api_stack import Api


async def test_missing_goal_field_is_reported_in_the_202_reply(api: Api) -> None:
    started = await api.client.post("/v1/events", headers=api.auth, json=api.event("c1"))
    assert started.json()["results"][0]["warnings"] == []
    order = api.event("c2", name="order_placed", data={"order": {"cartId": api.cart}})
    done = await api.client.post("/v1/events", headers=api.auth, json=order)
    assert done.status_code == 202
    assert done.json()["results"][0]["warnings"] == [
        "order.cart_id missing, needed by quick_cart goal"
    ]


async def test_hostile_shapes_are_warnings_not_errors(api: Api) -> None:
    for i, data in enumerate([{"cart": []}, {"cart": "x"}, {"cart": {"id": None}}, {}]):
        done = await api.client.post(
            "/v1/events", headers=api.auth, json=api.event(f"h{i}", data=data)
        )
        assert done.status_code == 202, done.text
        warnings = done.json()["results"][0]["warnings"]
        expected = "cart missing" if not data else "cart.id missing"
        assert f"{expected}, needed by quick_cart per" in warnings, warnings


async def test_strict_mode_rejects_data_a_scenario_cannot_use(api: Api) -> None:
    api.svc.settings = api.svc.settings.model_copy(update={"strict_events": True})
    batch = {
        "events": [
            api.event("s1"),
            api.event("s2", name="order_placed", data={"order": {"cartId": api.cart}}),
        ]
    }
    done = await api.client.post("/v1/events", headers=api.auth, json=batch)
    assert done.status_code == 422
    assert "events[1].data: order.cart_id missing, needed by quick_cart goal" in done.text
    retry = await api.client.post("/v1/events", headers=api.auth, json=api.event("s1"))
    assert retry.json()["results"][0]["status"] == "accepted"  # the batch wrote nothing

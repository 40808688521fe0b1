"""A bad batch names events[i].field once; a repeated event id answers like the first time."""

from __future__ import annotations

from api_stack import Api


async def test_a_batch_with_one_bad_event_names_the_field(api: Api) -> None:
    good = api.event("g1", customer="9")
    bad = {k: v for k, v in api.event("g2", customer="9").items() if k != "customer_id"}
    answer = await api.client.post("/v1/events", headers=api.auth, json={"events": [good, bad]})
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == ["events[1].customer_id"], errors
    assert errors[0]["message"].startswith("events[1].customer_id: ")
    # A single bad event names its field without a prefix, and only once.
    single = await api.client.post("/v1/events", headers=api.auth, json=bad)
    assert [e["field"] for e in single.json()["errors"]] == ["customer_id"]
    # Nothing of the batch was taken: the good event is still new.
    retry = await api.client.post("/v1/events", headers=api.auth, json=good)
    assert retry.json()["results"][0]["status"] == "accepted"


async def test_a_duplicate_reply_lists_the_runs_of_the_first_reply(api: Api) -> None:
    started = await api.client.post("/v1/events", headers=api.auth, json=api.event("d1"))
    assert started.json()["results"][0]["runs"] == [api.wid]
    opened = api.event("d2", name="message_opened", data={})
    first = (await api.client.post("/v1/events", headers=api.auth, json=opened)).json()
    second = (await api.client.post("/v1/events", headers=api.auth, json=opened)).json()
    assert first["results"][0]["runs"] == [api.wid]
    assert second["results"][0]["status"] == "duplicate"
    same = ("runs", "skipped", "unknown_event")
    assert {k: second["results"][0][k] for k in same} == {k: first["results"][0][k] for k in same}
    unknown = api.event("d3", name="wishlist_shared")
    one = (await api.client.post("/v1/events", headers=api.auth, json=unknown)).json()
    two = (await api.client.post("/v1/events", headers=api.auth, json=unknown)).json()
    assert two["results"][0]["unknown_event"] is one["results"][0]["unknown_event"] is True

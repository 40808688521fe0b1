"""What the router and revision-1 sends read, held to one contract by the in-memory stand-ins
and the SQL store on SQLite and PostgreSQL: the run index (a customer's runs per scenario) and
stored events' data (an event id keeps the data it first came with)."""

from __future__ import annotations

from contract_stores import Stores


async def test_the_run_index_finds_each_customers_own_runs(stores: Stores) -> None:
    runs = stores.runs
    for customer in ("a/x", "a_x", "A/x", "josé"):
        await runs.add(f"cart/{customer}/1", "cart", customer)
        await runs.add(f"webinar/{customer}/1", "webinar", customer)
    await runs.add("cart/a/x/2", "cart", "a/x")  # two keys for one customer
    await runs.add("cart/a/x/2", "cart", "a_x")  # the same run again: it keeps its customer
    assert sorted(await runs.for_customer("a/x", ["cart"])) == ["cart/a/x/1", "cart/a/x/2"]
    assert sorted(await runs.for_customer("a_x", ["cart", "webinar"])) == [
        "cart/a_x/1",
        "webinar/a_x/1",
    ]
    assert await runs.for_customer("A/x", ["thanks"]) == []
    assert await runs.for_customer("nobody", ["cart"]) == []
    await runs.remove("cart/a/x/1")
    await runs.remove("cart/never/1")  # removing what is not there is no error
    assert await runs.for_customer("a/x", ["cart"]) == ["cart/a/x/2"]


async def test_an_event_keeps_the_data_it_first_came_with(stores: Stores) -> None:
    hostile = {"cart": {"id": "<b>&\u202e", "note": "a\r\nb", "items": [{"qty": 1.5}]}}
    await stores.keep_event("e1", "a", hostile)
    await stores.keep_event("e1", "a", {"cart": {"id": "second"}})  # a repeat changes nothing
    await stores.keep_event("e2", "b", {})
    assert await stores.events.data_of("e1") == hostile
    assert await stores.events.data_of("e2") == {}
    assert await stores.events.data_of("e3") is None
    got = await stores.events.data_of("e1")
    assert got is not None
    got["cart"]["items"].append({"qty": 2})  # a copy: the store keeps its own
    assert await stores.events.data_of("e1") == hostile

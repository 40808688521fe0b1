"""The contact directory's contract, held by the in-memory directory (the simulator's, workflow
tests') and the SQL store on SQLite and PostgreSQL alike: updates change only the fields given;
a suppression belongs to the address, so it reaches every profile holding it and outlives a
change of profile; the strongest reason holds; push endpoints the push service calls gone
are forgotten everywhere. Customers share addresses here, and ids that differ only in case
are different customers."""

from __future__ import annotations

from typing import Any

import pytest
from contract_stores import TRUSTED_PUSH, Stores
from harness import PUSH_KEYS

from orchestrator.engine.contacts import ContactFields, ContactInvalid

SUB: dict[str, Any] = {"endpoint": "https://push.example.com/a", "keys": PUSH_KEYS}


def fields(**given: Any) -> ContactFields:
    return ContactFields.model_validate(given)


async def test_an_update_changes_only_the_fields_given(stores: Stores) -> None:
    book = stores.contacts
    assert await book.get("42") is None
    await book.upsert(
        "42",
        fields(
            email="a@example.com",
            first_name="Alex",
            consents={"email": True},
            push_subscriptions=[SUB],
            attributes={"tier": "gold", "n": 1},
        ),
        source="signup",
    )
    contact = await book.upsert(
        "42",
        fields(phone="+4915112345678", consents={"sms": True}, attributes={"n": 2}),
        source="api",
    )
    assert (contact.email, contact.phone, contact.first_name) == (
        "a@example.com",
        "+4915112345678",
        "Alex",
    )
    assert contact.consents == {"email": True, "sms": True}  # per channel
    assert contact.attributes == {"n": 2}  # replaced whole
    assert contact.address("push") == [SUB]
    other = {**SUB, "endpoint": "https://push.example.com/b"}
    rekeyed = {**SUB, "keys": {"p256dh": PUSH_KEYS["p256dh"], "auth": "AAECAwQFBgcICQoLDA0ODg"}}
    again = await book.upsert(
        "42", fields(push_subscriptions=[other, rekeyed], first_name=None), source="api"
    )
    assert again.address("push") == [rekeyed, other]  # added; a known endpoint gets new keys
    assert again.first_name is None  # null clears
    assert await book.get("42") == again


async def test_a_refused_endpoint_changes_nothing(stores: Stores) -> None:
    book = stores.contacts
    await book.upsert("7", fields(phone="+4915112345678"), source="api")
    private = {**SUB, "endpoint": "https://10.1.2.3/push"}
    with pytest.raises(ContactInvalid, match=r"^push_subscriptions\[1\]\.endpoint: "):
        await book.upsert(
            "7", fields(first_name="X", push_subscriptions=[SUB, private]), source="api"
        )
    with pytest.raises(ContactInvalid):
        await book.upsert("8", fields(push_subscriptions=[private]), source="api")
    kept = await book.get("7")
    assert kept is not None and kept.first_name is None and kept.address("push") is None
    assert await book.get("8") is None
    trusted = {**SUB, "endpoint": f"{TRUSTED_PUSH}/push/d1"}  # the deployment's own service
    assert (await book.upsert("7", fields(push_subscriptions=[trusted]), source="api")).address(
        "push"
    ) == [trusted]


async def test_a_suppression_belongs_to_the_address(stores: Stores) -> None:
    book = stores.contacts
    for cid in ("ann", "Ann", "bob"):  # ann and bob share an email; Ann is someone else
        email = "Shared@Example.com" if cid != "Ann" else "ann@example.com"
        await book.upsert(cid, fields(email=email, consents={"email": True}), source="api")
    assert await book.suppress("ann", "email", "unsubscribed")
    got = {cid: (await book.get(cid)) for cid in ("ann", "Ann", "bob")}
    assert {cid: c.suppressions for cid, c in got.items() if c} == {
        "ann": {"email": "unsubscribed"},
        "Ann": {},
        "bob": {"email": "unsubscribed"},  # the same address, however it is written
    }
    # A new profile taking the address is suppressed too.
    cat = await book.upsert("cat", fields(email="shared@example.COM"), source="api")
    assert cat.suppressions == {"email": "unsubscribed"}
    assert not await book.suppress("nobody", "email", "stop")


async def test_without_an_address_the_suppression_is_the_customers_own(stores: Stores) -> None:
    """Ids differing only in case are different customers: suppressing one never stops the
    other, whichever comes first."""
    book = stores.contacts
    for cid in ("dan", "Dan", "DAN"):
        await book.upsert(cid, fields(first_name=cid), source="api")
    assert await book.suppress("Dan", "telegram", "blocked")
    assert await book.suppress("dan", "telegram", "stop")
    found = {cid: (await book.get(cid)) for cid in ("dan", "Dan", "DAN")}
    assert {cid: c.suppressions for cid, c in found.items() if c} == {
        "dan": {"telegram": "stop"},
        "Dan": {"telegram": "blocked"},
        "DAN": {},
    }


async def test_the_strongest_reason_holds(stores: Stores) -> None:
    book = stores.contacts
    await book.upsert("eve", fields(phone="+15005550006"), source="api")
    assert await book.suppress("eve", "sms", "unsubscribed")
    assert await book.suppress("eve", "sms", "stop")  # from no marketing to nothing at all
    assert await book.suppress("eve", "sms", "unsubscribed")  # never back
    eve = await book.get("eve")
    assert eve is not None and eve.suppressions == {"sms": "stop"}
    # Suppressed before it had a number, then by number: the one that ends everything holds.
    await book.upsert("fay", fields(first_name="Fay"), source="api")
    assert await book.suppress("fay", "whatsapp", "bounced")
    await book.upsert("fay", fields(whatsapp="+4915112345678"), source="api")
    assert await book.suppress("fay", "whatsapp", "unsubscribed")
    fay = await book.get("fay")
    assert fay is not None and fay.suppressions == {"whatsapp": "bounced"}


async def test_gone_endpoints_are_forgotten_on_every_profile(stores: Stores) -> None:
    book = stores.contacts
    gone_endpoint = "https://push.example.com/gone"
    gone = {**SUB, "endpoint": gone_endpoint}
    kept = {**SUB, "endpoint": "https://push.example.com/kept"}
    await book.upsert("gil", fields(push_subscriptions=[gone, kept]), source="api")
    await book.upsert("hal", fields(push_subscriptions=[gone]), source="api")
    removed = await book.remove_push_subscriptions([gone_endpoint, "https://push.example.com/x"])
    assert removed == 2
    gil, hal = await book.get("gil"), await book.get("hal")
    assert gil is not None and gil.address("push") == [kept]
    assert hal is not None and hal.address("push") is None
    assert await book.remove_push_subscriptions([gone_endpoint]) == 0


async def test_a_read_profile_is_a_copy(stores: Stores) -> None:
    book = stores.contacts
    await book.upsert(
        "ivy", fields(attributes={"tags": ["a"]}, consents={"sms": True}), source="api"
    )
    first = await book.get("ivy")
    assert first is not None
    first.attributes["tags"].append("b")
    first.consents["sms"] = False
    again = await book.get("ivy")
    assert (
        again is not None
        and again.attributes == {"tags": ["a"]}
        and again.consents == {"sms": True}
    )

"""What only the SQL store does, on SQLite and PostgreSQL: erasure (suppressions outlive it
as address hashes), finding customers by address, the send log's provider ids, migrations
that match the tables, and the group commit. What every store does, the in-memory stand-ins
included, is in the contract tests (test_contract_*.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.contacts import ContactFields
from orchestrator.engine.sendlog import SendRecord
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.sendlog import SqlSendLog

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def test_suppression_blocks_channel_and_survives_erasure(
    db: async_sessionmaker[AsyncSession],
) -> None:
    store = SqlContacts(db)
    fields = ContactFields(email="b@example.com", consents={"email": True})
    await store.upsert("9", fields, source="api")
    assert await store.suppress("9", "email", "unsubscribed")
    contact = await store.get("9")
    assert contact is not None and contact.suppressions == {"email": "unsubscribed"}
    assert await store.erase("9")
    assert await store.get("9") is None
    # The same address under a new profile is still suppressed (kept as a hash only).
    reborn = await store.upsert("10", ContactFields(email="B@example.com"), source="api")
    assert reborn.suppressions == {"email": "unsubscribed"}
    # A fresh explicit opt-in lifts it.
    await store.set_consent("10", "email", True, source="preference-centre")
    lifted = await store.get("10")
    assert lifted is not None and lifted.suppressions == {}


async def test_find_by_address(db: async_sessionmaker[AsyncSession]) -> None:
    store = SqlContacts(db)
    fields = ContactFields(phone="+15005550006", telegram_chat_id="777")
    await store.upsert("5", fields, source="api")
    assert await store.find("sms", "+15005550006") == "5"
    assert await store.find("telegram", "777") == "5"
    assert await store.find("sms", "+15005550007") is None


async def test_a_message_is_found_by_its_provider_id(
    db: async_sessionmaker[AsyncSession],
) -> None:
    log = SqlSendLog(db)
    sent = SendRecord(
        key="cart/42/r1/g0/steps.2.rung1/email",
        customer_id="42",
        scenario="cart",
        step="steps.2.rung1",
        channel="email",
        template="cart/reminder",
        status="sent",
        at=T0,
        provider_id="<m1@x>",
    )
    await log.record(sent)
    found = await log.by_provider_id("<m1@x>")
    assert found is not None and found.key == sent.key
    assert await log.by_provider_id("<m2@x>") is None


async def test_migrations_match_the_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from orchestrator.store.db import make_engine
    from orchestrator.store.tables import Base

    engine = make_engine(db_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    await engine.dispose()
    assert diff == []


async def test_group_commit_claims_each_event_id_once(
    db: async_sessionmaker[AsyncSession],
) -> None:
    from orchestrator.store.batch import WriteBatcher
    from orchestrator.store.runs import SqlRunIndex

    batcher = WriteBatcher(db)
    runs = [("cart/cart-1", "cart", "42")]
    results = await asyncio.gather(
        *(batcher.claim(f"e{i % 3}", "cart_updated", "42", runs) for i in range(9))
    )
    assert sorted(c.new for c in results) == [False] * 6 + [True] * 3
    assert not (await batcher.claim("e0", "cart_updated", "42", [])).new  # already stored
    assert await SqlRunIndex(db).for_customer("42", ["cart"]) == ["cart/cart-1"]


async def test_group_commit_reads_each_customers_own_listening_runs(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The claim's commit also reads which runs listen to the event: one query for the whole
    group, split back per customer and scenario; ids that differ only in case, separators or
    accents are different customers, and runs planned in the same group are not listeners yet."""
    from orchestrator.store.batch import WriteBatcher
    from orchestrator.store.runs import SqlRunIndex

    index = SqlRunIndex(db)
    customers = ["a/x", "a_x", "A/x", "josé", "josé", "<script>", "c"]
    for c in customers:
        await index.add(f"cart/{c}/1", "cart", c)
        await index.add(f"webinar/{c}/1", "webinar", c)
    await index.add("cart/c/2", "cart", "c")  # two keys for one customer
    await index.add("cart/shared", "cart", "josé")  # a key only the first josé has

    batcher = WriteBatcher(db)
    claims = await asyncio.gather(
        *(
            batcher.claim(
                f"order-{i}",
                "order_placed",
                c,
                [(f"thanks/{c}", "thanks", c)],  # planned now: not a listener of this event
                {"event_id": f"order-{i}"},
                frozenset({"cart", "thanks"}),
            )
            for i, c in enumerate(customers)
        ),
        batcher.claim("signup-1", "signup", "c", [], {"event_id": "signup-1"}),
    )
    got = {c: sorted(claim.listeners) for c, claim in zip(customers, claims, strict=False)}
    assert got == {
        "a/x": ["cart/a/x/1"],
        "a_x": ["cart/a_x/1"],
        "A/x": ["cart/A/x/1"],
        "josé": ["cart/josé/1", "cart/shared"],
        "josé": ["cart/josé/1"],
        "<script>": ["cart/<script>/1"],
        "c": ["cart/c/1", "cart/c/2"],
    }
    assert claims[-1].new and claims[-1].listeners == []  # listening to nothing: no read
    assert all(claim.new for claim in claims)
    # The planned runs were stored with the claims.
    assert await index.for_customer("c", ["thanks"]) == ["thanks/c"]


async def test_group_commit_applies_the_contact_fields_of_first_claims_only(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """An event's contact fields are stored in the commit that stores the event: each
    customer's own, a customer's two events in one group both count, and a repeated event id
    changes nothing (the same event twice does nothing the second time)."""
    from orchestrator.store.batch import WriteBatcher
    from orchestrator.store.contacts import SqlContacts

    batcher = WriteBatcher(db)
    contacts = SqlContacts(db, batcher=batcher)

    def claim(event_id: str, customer: str, fields: dict[str, Any]) -> Any:
        write = contacts.prepared(
            customer, ContactFields.model_validate(fields), source="event:signup"
        )
        return batcher.claim(
            event_id, "signup", customer, [], {"event_id": event_id}, frozenset(), write
        )

    hostile = "<script>alert(1)</script>\r\nBcc: x@evil.example"
    done = await asyncio.gather(
        claim("e1", "a/x", {"first_name": hostile, "email": "ax@example.com"}),
        claim("e2", "a_x", {"first_name": "Bo", "consents": {"email": True}}),
        claim("e3", "a/x", {"phone": "+15005550006", "consents": {"sms": True}}),
        claim("e1", "a/x", {"first_name": "Mallory"}),  # a repeat in the same group
    )
    assert [c.new for c in done] == [True, True, True, False]
    again = await claim("e2", "a_x", {"first_name": "Eve"})  # a later repeat
    assert not again.new
    ax, a_x = await contacts.get("a/x"), await contacts.get("a_x")
    assert ax is not None and a_x is not None
    assert (ax.first_name, ax.email, ax.phone) == (hostile, "ax@example.com", "+15005550006")
    assert ax.consents == {"sms": True}
    assert (a_x.first_name, a_x.email, a_x.consents) == ("Bo", None, {"email": True})


async def test_one_bad_row_in_a_group_commit_fails_alone(
    db: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """On PostgreSQL a NUL character cannot be stored: that claim fails, its 29 neighbours in
    the same group commit are stored (the API refuses such ids first; this is the backstop)."""
    from orchestrator.store.events import EventLog

    log = EventLog(db)
    ids = [f"ok-{i}" for i in range(29)] + ["bad\x00id"]
    answers = await asyncio.gather(
        *(log.claim(e, "cart_updated", "c", [], {"event_id": e}) for e in ids),
        return_exceptions=True,
    )
    failed = [e for e, a in zip(ids, answers, strict=True) if isinstance(a, BaseException)]
    assert failed == (["bad\x00id"] if db_url.startswith("postgresql") else [])
    for e in ids[:29]:
        assert (await log.get(e)) is not None


def test_the_contacts_table_holds_every_field_of_the_model() -> None:
    """The profile's columns are the model's fields, each wide enough for what the model
    accepts (PostgreSQL refuses longer text; SQLite would keep it silently)."""
    from orchestrator.engine.contacts import REPLACED
    from orchestrator.store.tables import ContactRow

    columns = ContactRow.__table__.columns
    assert set(REPLACED) <= set(columns.keys())
    fields = ContactFields.model_json_schema()["properties"]
    for name in REPLACED:
        width = getattr(columns[name].type, "length", None)
        longest = max((s.get("maxLength", 0) for s in fields[name].get("anyOf", [])), default=0)
        if name in ("phone", "whatsapp"):
            longest = 16  # stored as E.164: "+" and at most 15 digits, whatever form came in
        assert width is None or 0 < longest <= width, (name, longest, width)

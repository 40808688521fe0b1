"""Any contact the model accepts (the API's one check) round-trips through every store
unchanged — the in-memory directory, SQLite and PostgreSQL — as ``Contact.updated`` says a
profile changes; anything refused (by the model, or by the stores' push-endpoint policy)
leaves the store as it was. Hypothesis draws the updates (tests/contact_data.py): hostile
text, every accepted form of an address, shared addresses, ids differing only in case."""

from __future__ import annotations

import os
import uuid
from typing import Any

from contact_data import SCRIPT
from contract_stores import Stores
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from orchestrator.engine.contacts import Contact, ContactFields, ContactInvalid, new_contact

EXAMPLES = int(os.environ.get("OMNI_FUZZ_EXAMPLES", "60"))
#: Customer ids per script: two differ only in case, one needs escaping in a URL.
IDS = ("c", "C", "c/é <b>")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=SCRIPT)
async def test_accepted_contacts_round_trip_and_refused_ones_change_nothing(
    stores: Stores, script: list[tuple[int, dict[str, Any]]]
) -> None:
    tag = uuid.uuid4().hex[:8]  # examples share the store: each its own customers
    expected: dict[str, Contact] = {}
    for who, body in script:
        cid = f"{tag}-{IDS[who]}"
        before = expected.get(cid)
        try:
            fields = ContactFields.model_validate(body)
            answer = await stores.contacts.upsert(cid, fields, source="property")
        except (ValidationError, ContactInvalid):
            kept = await stores.contacts.get(cid)
            assert (kept.public() if kept else None) == (before.public() if before else None)
            continue
        expected[cid] = (before or new_contact(cid)).updated(fields)
        assert answer.public() == expected[cid].public(), body
        read = await stores.contacts.get(cid)
        assert read is not None and read.public() == expected[cid].public(), body

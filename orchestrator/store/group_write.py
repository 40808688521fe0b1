"""One group commit's statements (orchestrator.store.batch queues them): event claims with
their run index rows, the listening runs of the claims' customers, and delivery marks. Written
once as blocking Core code: on SQLite it runs whole on one thread, on PostgreSQL in asyncpg's
greenlet."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orchestrator.store.contact_writes import ContactWrite, apply_contacts
from orchestrator.store.tables import EventRow, RunRow

MAX_ROWS = 500


@dataclass(frozen=True)
class Claimed:
    #: False for an event id stored before (a repeat).
    new: bool
    #: Workflow ids of the customer's runs in the listening scenarios, read in the commit that
    #: stored the claim (one query per group commit instead of one per event).
    listeners: list[str] = field(default_factory=list)


@dataclass
class Claim:
    row: dict[str, Any]
    runs: list[dict[str, Any]]
    listening: frozenset[str]
    #: The event's contact fields, applied with a first claim.
    contact: ContactWrite | None
    future: asyncio.Future[Claimed]


@dataclass
class Pending:
    claims: list[Claim] = field(default_factory=list)
    runs: list[tuple[dict[str, Any], asyncio.Future[bool]]] = field(default_factory=list)
    #: (event id, result) of events delivered to every run they concern.
    delivered: list[tuple[str, dict[str, Any], asyncio.Future[bool]]] = field(default_factory=list)
    #: Events' contact fields, in arrival order.
    contacts: list[tuple[ContactWrite, asyncio.Future[bool]]] = field(default_factory=list)

    def futures(self) -> list[asyncio.Future[Any]]:
        out: list[asyncio.Future[Any]] = [c.future for c in self.claims]
        out += [f for _, f in self.runs] + [f for _, _, f in self.delivered]
        return out + [f for _, f in self.contacts]


def write_batch(conn: Connection, batch: Pending) -> list[Claimed]:
    """What each claim of ``batch`` got, in order: whether it stored its event first (a
    repeated event adds no rows: its first delivery planned them) and its customer's listening
    runs as they stood before."""
    postgres = conn.dialect.name == "postgresql"
    listeners = _listening(conn, batch)
    new = _claim_returning(conn, batch) if postgres else _claim_sqlite(conn, batch)
    firsts: set[int] = set()
    seen: set[str] = set()
    for i, claim in enumerate(batch.claims):
        event_id = claim.row["event_id"]
        if event_id in new and event_id not in seen:
            firsts.add(i)
        seen.add(event_id)
    runs = [r for i, c in enumerate(batch.claims) if i in firsts for r in c.runs]
    runs += [r for r, _ in batch.runs]
    if runs:
        conn.execute(_ADD_RUNS_PG if postgres else _ADD_RUNS_SQLITE, runs)
    contacts = [c.contact for i, c in enumerate(batch.claims) if i in firsts and c.contact]
    contacts += [write for write, _ in batch.contacts]
    if contacts:
        with Session(bind=conn) as s:
            apply_contacts(s, contacts)
            s.flush()
    if batch.delivered:
        now = datetime.now(UTC)
        conn.execute(
            _MARK_DELIVERED,
            [{"eid": e, "at": now, "outcome": r} for e, r, _ in batch.delivered],
        )
    return [Claimed(i in firsts, _listeners_of(c, listeners)) for i, c in enumerate(batch.claims)]


def _listening(conn: Connection, batch: Pending) -> list[tuple[str, str, str]]:
    scenarios = set().union(*(c.listening for c in batch.claims))
    if not scenarios:
        return []
    customers = list({c.row["customer_id"] for c in batch.claims if c.listening})
    found: list[tuple[str, str, str]] = []
    for i in range(0, len(customers), MAX_ROWS):
        chunk = {"customers": customers[i : i + MAX_ROWS], "scenarios": sorted(scenarios)}
        found += [(w, sc, c) for w, sc, c in conn.execute(_LISTENING, chunk)]
    return found


def _claim_returning(conn: Connection, batch: Pending) -> set[str]:
    # Concurrent API processes race on the same ids: RETURNING says which rows this
    # transaction really inserted.
    rows = list({c.row["event_id"]: c.row for c in reversed(batch.claims)}.values())
    new: set[str] = set()
    for i in range(0, len(rows), MAX_ROWS):
        done = conn.execute(
            pg_insert(_EVENTS)
            .values(rows[i : i + MAX_ROWS])
            .on_conflict_do_nothing()
            .returning(_EVENTS.c.event_id)
        )
        new.update(done.scalars())
    return new


def _claim_sqlite(conn: Connection, batch: Pending) -> set[str]:
    # One writer at a time, and a WAL read snapshot that went stale makes the insert fail
    # rather than skip: select-then-insert is exact here, and fixed statements with
    # executemany keep SQLAlchemy's compiled cache warm (half the cost of VALUES lists).
    ids = list(dict.fromkeys(c.row["event_id"] for c in batch.claims))
    existing: set[str] = set()
    for i in range(0, len(ids), MAX_ROWS):
        existing.update(conn.scalars(_EXISTING, {"ids": ids[i : i + MAX_ROWS]}))
    fresh = {
        c.row["event_id"]: c.row
        for c in reversed(batch.claims)
        if c.row["event_id"] not in existing
    }
    if fresh:
        conn.execute(_ADD_EVENTS_SQLITE, list(fresh.values()))
    return set(fresh)


_EVENTS = cast(Table, EventRow.__table__)
_RUNS = cast(Table, RunRow.__table__)
# Built once: constructing a statement costs more than SQLite takes to run it.
_LISTENING = select(_RUNS.c.workflow_id, _RUNS.c.scenario, _RUNS.c.customer_id).where(
    _RUNS.c.customer_id.in_(bindparam("customers", expanding=True)),
    _RUNS.c.scenario.in_(bindparam("scenarios", expanding=True)),
)
_EXISTING = select(_EVENTS.c.event_id).where(
    _EVENTS.c.event_id.in_(bindparam("ids", expanding=True))
)
_ADD_EVENTS_SQLITE = sqlite_insert(_EVENTS)
_ADD_RUNS_SQLITE = sqlite_insert(_RUNS).on_conflict_do_nothing()
_ADD_RUNS_PG = pg_insert(_RUNS).on_conflict_do_nothing()
#: One executemany for every mark of a group commit (an ORM update per mark costs ~10x).
_MARK_DELIVERED = (
    update(_EVENTS)
    .where(_EVENTS.c.event_id == bindparam("eid"), _EVENTS.c.delivered_at.is_(None))
    .values(delivered_at=bindparam("at"), lease_until=None, result=bindparam("outcome"))
)


def _listeners_of(claim: Claim, found: list[tuple[str, str, str]]) -> list[str]:
    customer = claim.row["customer_id"]
    return [w for w, sc, c in found if c == customer and sc in claim.listening]

"""Every engine protocol the store implements, as the in-memory stand-ins and as the SQL store
(tests/store/conftest.py's ``stores`` fixture builds them): the contract tests
(tests/store/test_contract_*.py) hold the stand-ins to the real thing. Kept out of conftest.py:
test modules import it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from tests_store_url import database_url

from orchestrator.engine.contacts import (
    Contact,
    ContactDirectory,
    ContactFields,
    InMemoryDirectory,
)
from orchestrator.engine.definitions import InMemoryEventData
from orchestrator.engine.learning import (
    ArmLog,
    ArmRecord,
    InMemoryArmLog,
    InMemoryReactionStats,
    ReactionStats,
)
from orchestrator.engine.resolve import EventData
from orchestrator.engine.router import InMemoryRunIndex, RunIndex
from orchestrator.engine.sendlog import InMemorySendLog, SendLog
from orchestrator.store.arms import SqlArms
from orchestrator.store.contacts import SqlContacts
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.events import EventLog
from orchestrator.store.reactions import SqlReactionStats
from orchestrator.store.runs import SqlRunIndex
from orchestrator.store.sendlog import SqlSendLog
from orchestrator.store.tables import RunArmRow

KINDS = ["memory", "sqlite", "postgresql"]
#: The push service origin the contract's stores trust (a private one, as in tests).
TRUSTED_PUSH = "http://127.0.0.1:8089"


class ContactBook(ContactDirectory, Protocol):
    """The directory and the write every store has (the API's, the simulator's)."""

    async def upsert(self, contact_id: str, fields: ContactFields, *, source: str) -> Contact: ...


class MarkedLog(SendLog, Protocol):
    """The send log and the reactions tracking marks on it."""

    async def mark(self, key: str, reaction: str, at: Any) -> bool: ...


@dataclass
class Stores:
    """One implementation of each protocol, all over one store (``kind``)."""

    kind: str
    contacts: ContactBook
    send_log: MarkedLog
    runs: RunIndex
    stats: ReactionStats
    arms: ArmLog
    events: EventData
    url: str = ""
    _engines: list[AsyncEngine] = field(default_factory=list)

    def send_logs(self, n: int) -> list[SendLog]:
        """``n`` handles on this send log: on SQL each its own engine (as several workers'
        connections), in memory the one log."""
        if self.kind == "memory":
            return [self.send_log] * n
        self._engines += [make_engine(self.url) for _ in range(n)]
        return [SqlSendLog(sessions(e)) for e in self._engines[-n:]]

    async def keep_event(self, event_id: str, customer_id: str, data: dict[str, Any]) -> None:
        """Store an event as the API does before routing it."""
        if isinstance(self.events, InMemoryEventData):
            self.events.keep(event_id, data)
        else:
            assert isinstance(self.events, EventLog)
            payload = {"event_id": event_id, "customer_id": customer_id, "data": data}
            await self.events.claim(event_id, "cart_updated", customer_id, [], payload)

    async def arms_of(self, workflow_id: str) -> list[ArmRecord]:
        """The arms kept for a workflow id (the protocol only writes them)."""
        if isinstance(self.arms, InMemoryArmLog):
            return [r for r in self.arms.rows if r.workflow_id == workflow_id]
        assert isinstance(self.arms, SqlArms)
        async with self.arms.sessions() as s:
            rows = await s.scalars(
                select(RunArmRow)
                .where(RunArmRow.workflow_id == workflow_id)
                .order_by(RunArmRow.version, RunArmRow.experiment)
            )
            return [
                ArmRecord(
                    r.workflow_id,
                    r.version,
                    r.scenario,
                    r.customer_ref,
                    r.experiment,
                    r.arm,
                    r.assigned_at,
                )
                for r in rows
            ]


async def build(kind: str, tmp_path: Path) -> AsyncIterator[Stores]:
    """The stores of ``kind``: memory, sqlite or postgresql (skipped without its URL)."""
    if kind == "memory":
        log = InMemorySendLog()
        yield Stores(
            "memory",
            contacts=InMemoryDirectory(trusted_push_origins=(TRUSTED_PUSH,)),
            send_log=log,
            runs=InMemoryRunIndex(),
            stats=InMemoryReactionStats(log),
            arms=InMemoryArmLog(),
            events=InMemoryEventData(),
        )
        return
    async for url in database_url(kind, tmp_path):
        engine = make_engine(url)
        factory = sessions(engine)
        made = Stores(
            kind,
            contacts=SqlContacts(factory, trusted_push_origins=(TRUSTED_PUSH,)),
            send_log=SqlSendLog(factory),
            runs=SqlRunIndex(factory),
            # The shop-wide figures kept for no time: the contract reads them at once.
            stats=SqlReactionStats(factory, shop_ttl_s=0),
            arms=SqlArms(factory),
            events=EventLog(factory),
            url=url,
        )
        yield made
        for e in [engine, *made._engines]:
            await e.dispose()

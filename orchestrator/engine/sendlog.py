"""The send log: one entry per idempotency key. It stops a retried activity from sending twice
and is what the cross-scenario frequency cap counts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from orchestrator.engine.policies import cap_reached
from orchestrator.language.model import FrequencyCap

#: Statuses that hold a slot of the customer's frequency caps (``sending``: handed to the
#: provider, answer not yet recorded; ``uncertain``: that answer was lost).
COUNTED = ("sent", "reserved", "sending", "uncertain")
#: Kept locally by a record-only channel (as under ``omni dev``), never delivered: not
#: ``sent``, so it holds no slot of the caps and is no delivery in the funnel or learning.
RECORDED = "recorded"
#: A recorded send's reason in its run, whose status there is ``sent``: the run goes on as
#: after a send (waits for a reaction, then escalates), as it would in production.
RECORDED_REASON = f"{RECORDED}: kept locally, not delivered (no provider)"
#: A send that reached its end; a late duplicate write must not overwrite it.
FINAL = ("sent", RECORDED)
#: Held back for a while (quiet hours, the customer's earlier events still on their way): the
#: run sleeps and sends it again. The entry's ``held`` keeps the why after it went.
DEFERRED = "deferred"
#: Statuses a deferral may replace: nothing reached the provider yet.
NOT_YET = ("reserved", DEFERRED)
#: The provider may have it (``sending``: the intent; ``uncertain``: the answer was lost): a
#: deferral must not hide that from the retry that looks for an earlier delivery.
HANDED = ("sending", "uncertain")
#: The reason a send stopped before its handover starts with this (``stopped_by_goal``,
#: ``stopped_by_exit``, ``stopped_by_cancel``): its run ended first. Recorded as ``skipped``.
STOPPED_BY = "stopped_by_"


@dataclass
class SendRecord:
    key: str
    customer_id: str
    scenario: str
    step: str
    channel: str
    template: str
    status: str  # reserved | deferred | sending | sent | recorded | uncertain | skipped | failed
    at: datetime
    reason: str = ""
    provider_id: str = ""
    #: The run that sent it (workflow id and run chain; see README, "Send keys").
    run: str = ""
    #: The scenario version the run executed.
    version: str = ""
    #: The rendered message as JSON, when the worker keeps messages (the console shows it).
    body: str = ""
    #: A test send from the console.
    test: bool = False
    #: Why it was held back before it went (``quiet_hours``, ``events_pending``), if it was.
    held: str = ""


def stopped(entry: SendRecord) -> bool:
    """Stopped before its handover because its run ended: nothing may hand it over now."""
    return entry.status == "skipped" and entry.reason.startswith(STOPPED_BY)


class SendLog(Protocol):
    async def get(self, key: str) -> SendRecord | None: ...

    async def record(self, entry: SendRecord) -> None: ...

    async def hand_over(self, entry: SendRecord) -> bool:
        """One atomic step with ``stop``: record ``entry`` (status ``sending``, the intent)
        unless its run stopped the send first; False then, and nothing is written."""
        ...

    async def stop(self, entry: SendRecord) -> SendRecord:
        """One atomic step with ``hand_over``: a send not handed over yet (reserved, deferred
        or never seen) is recorded as ``entry`` (``skipped``, reason ``stopped_by_…``) and can
        never be handed over after; one already handed over (or finished) is left as it is.
        Returns the key's record."""
        ...

    async def defer(self, entry: SendRecord) -> None:
        """The send is held back (``entry``: status ``deferred``, ``held`` the reason code,
        ``reason`` until when): recorded so unless the provider may already have it (an
        intent or a lost answer keeps its status and only gets ``held``) or it has an end."""
        ...

    async def sent_since(self, customer_id: str, since: datetime) -> list[tuple[datetime, str]]:
        """(sent_at, channel) of every message sent to the customer after ``since``."""
        ...

    async def reserve(self, entry: SendRecord, caps: list[FrequencyCap]) -> FrequencyCap | None:
        """One atomic step: if one more message to the customer on ``entry.channel`` at
        ``entry.at`` fits every cap, record ``entry`` as reserved (it holds a slot from now on)
        and return None; otherwise change nothing and return the first cap it would break.
        A key that already holds a slot (a retried activity) keeps it."""
        ...


class InMemorySendLog:
    """The send log in a dict, kept as the SQL log keeps it (tests/store/test_contract_sendlog.py
    holds the two together): for the simulator and workflow tests."""

    def __init__(self) -> None:
        self.entries: dict[str, SendRecord] = {}
        #: key -> reaction (opened, clicked, delivered, replied) -> when it first came.
        self.marks: dict[str, dict[str, datetime]] = {}
        #: key -> when the key was first written.
        self._created: dict[str, datetime] = {}
        self._lock = asyncio.Lock()

    def _put(self, entry: SendRecord) -> None:
        # A copy: a caller changing its entry afterwards does not change the log. A record
        # that holds no slot is dated by its key's first write, as the SQL log dates it. As
        # the SQL log's column: why it was held stays whatever is written after.
        created = self._created.setdefault(entry.key, entry.at)
        before = self.entries.get(entry.key)
        held = before.held if before is not None and before.held and not entry.held else entry.held
        self.entries[entry.key] = replace(
            entry, at=entry.at if entry.status in COUNTED else created, held=held
        )

    async def get(self, key: str) -> SendRecord | None:
        held = self.entries.get(key)
        return replace(held) if held is not None else None

    async def record(self, entry: SendRecord) -> None:
        held = self.entries.get(entry.key)
        if held is not None and held.status in FINAL:
            return  # a sent message stays sent; a late duplicate must not overwrite it
        self._put(entry)

    async def hand_over(self, entry: SendRecord) -> bool:
        async with self._lock:
            held = self.entries.get(entry.key)
            if held is not None and stopped(held):
                return False
            self._put(entry)
            return True

    async def stop(self, entry: SendRecord) -> SendRecord:
        async with self._lock:
            held = self.entries.get(entry.key)
            if held is None or held.status in NOT_YET:
                self._put(entry)
            return replace(self.entries[entry.key])

    async def defer(self, entry: SendRecord) -> None:
        async with self._lock:
            held = self.entries.get(entry.key)
            if held is None or held.status in NOT_YET:
                self._put(entry)
            elif held.status in HANDED:
                self.entries[entry.key] = replace(held, held=entry.held)

    async def sent_since(self, customer_id: str, since: datetime) -> list[tuple[datetime, str]]:
        return [
            (e.at, e.channel)
            for e in self.entries.values()
            if e.customer_id == customer_id and e.status in COUNTED and e.at > since
        ]

    async def reserve(self, entry: SendRecord, caps: list[FrequencyCap]) -> FrequencyCap | None:
        async with self._lock:
            held = self.entries.get(entry.key)
            if held is not None and (held.status in COUNTED or stopped(held)):
                return None  # kept; a stopped send is refused at its handover
            if caps:
                widest = max(cap.window_s for cap in caps)
                since = entry.at - timedelta(seconds=widest)
                history = await self.sent_since(entry.customer_id, since)
                cap = cap_reached(caps, history, channel=entry.channel, now=entry.at)
                if cap is not None:
                    return cap
            self._put(replace(entry, status="reserved", reason=""))
            return None

    async def mark(self, key: str, reaction: str, at: datetime) -> bool:
        """The first ``reaction`` (opened, clicked, delivered, replied) of a message counts;
        False when there is no such message or it came before."""
        if key not in self.entries or reaction in self.marks.get(key, {}):
            return False
        self.marks.setdefault(key, {})[reaction] = at
        return True


class SendFacts(Protocol):
    """What a send's entry in the log is made of (a ``Send``, a ``SendStop``, a costed rung's
    check)."""

    @property
    def key(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def scenario(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def run_ref(self) -> str: ...
    @property
    def version(self) -> str: ...


def record_of(
    req: SendFacts, now: datetime, status: str, reason: str = "", provider_id: str = ""
) -> SendRecord:
    """The send log's entry for ``req`` in ``status``."""
    return SendRecord(
        key=req.key,
        customer_id=req.customer_id,
        scenario=req.scenario,
        step=req.step,
        channel=req.channel,
        template=req.template,
        status=status,
        at=now,
        reason=reason,
        provider_id=provider_id,
        run=req.run_ref,
        version=req.version,
    )


def skip_record(req: SendFacts, now: datetime, reason: str) -> SendRecord:
    """The send log's entry for a send skipped or stopped without reaching its provider."""
    return SendRecord(
        key=req.key,
        customer_id=req.customer_id,
        scenario=req.scenario,
        step=req.step,
        channel=req.channel,
        template=req.template,
        status="skipped",
        at=now,
        reason=reason,
        run=req.run_ref,
        version=req.version,
    )

"""The console's funnel in SQL: messages per step and channel from the send log, runs and their
outcomes from ``run_outcomes``. Each query reads one scenario over one period through an index
(``ix_send_log_funnel``, ``ix_run_outcomes_funnel``) and groups in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.experiments import HELD_OUT, HOLDOUT
from orchestrator.engine.sendlog import DEFERRED, RECORDED
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import RunArmRow, RunOutcomeRow, SendRow


@dataclass
class StepFunnel:
    step: str
    channel: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    failed: int = 0
    #: Kept by a record-only channel (as under omni dev): reached nobody, so apart from
    #: ``sent`` and out of every rate.
    recorded: int = 0
    #: reason code (the part before ":") -> messages skipped for it
    skipped: dict[str, int] = field(default_factory=dict)
    #: reason code -> messages held back for it (quiet hours, ...) whatever came after.
    held: dict[str, int] = field(default_factory=dict)
    #: Held back now: the run sleeps until the hold ends, then sends.
    waiting: int = 0

    def rate(self, count: int) -> str:
        return f"{100 * count / self.sent:.0f}%" if self.sent else "–"


@dataclass
class Funnel:
    steps: list[StepFunnel]
    #: outcome -> runs ("" for runs still open)
    outcomes: dict[str, int]
    #: Runs in the holdout (``holdout:``), finished or still counting their goal: they send
    #: nothing. From ``run_arms``, written when the run starts.
    held_out: int = 0

    @property
    def entered(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome != "not_triggered")


@dataclass
class VersionSeen:
    """A scenario version and when runs of it started (first and latest)."""

    version: str
    first_run: datetime
    last_run: datetime


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class OutcomeRecord:
    run_id: str
    workflow_id: str
    scenario: str
    version: str
    customer_ref: str
    status: str
    outcome: str
    started_at: datetime
    closed_at: datetime | None


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0].strip() or "unknown"


class SqlFunnel:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def funnel(
        self, scenario: str, since: datetime, until: datetime, version: str = ""
    ) -> Funnel:
        sends = select(
            SendRow.step,
            SendRow.channel,
            SendRow.status,
            SendRow.reason,
            func.count(),
            func.count(SendRow.delivered_at),
            func.count(SendRow.opened_at),
            func.count(SendRow.clicked_at),
            func.count(SendRow.replied_at),
            SendRow.held,
        ).where(
            SendRow.scenario == scenario,
            SendRow.created_at >= since,
            SendRow.created_at < until,
            SendRow.test.is_(False),
        )
        runs = select(RunOutcomeRow.outcome, func.count()).where(
            RunOutcomeRow.scenario == scenario,
            RunOutcomeRow.started_at >= since,
            RunOutcomeRow.started_at < until,
        )
        o, a = RunOutcomeRow, RunArmRow
        held_out = (
            select(func.count())
            .select_from(o)
            .join(a, (a.workflow_id == o.workflow_id) & (a.version == o.version))
            .where(
                o.scenario == scenario,
                o.started_at >= since,
                o.started_at < until,
                a.experiment == HOLDOUT,
                a.arm == HELD_OUT,
            )
        )
        if version:
            sends = sends.where(SendRow.version == version)
            runs = runs.where(RunOutcomeRow.version == version)
            held_out = held_out.where(o.version == version)
        sends = sends.group_by(
            SendRow.step, SendRow.channel, SendRow.status, SendRow.reason, SendRow.held
        )
        async with self.sessions() as s:
            rows = (await s.execute(sends)).all()
            outcome_rows = (await s.execute(runs.group_by(RunOutcomeRow.outcome))).all()
            held_out_runs = await s.scalar(held_out) or 0
        by_key: dict[tuple[str, str], StepFunnel] = {}
        for step, channel, status, reason, n, delivered, opened, clicked, replied, held in rows:
            f = by_key.setdefault((step, channel), StepFunnel(step, channel))
            if held:
                f.held[held] = f.held.get(held, 0) + n
            if status == "sent":
                f.sent += n
                f.delivered += delivered
                f.opened += opened
                f.clicked += clicked
                f.replied += replied
            elif status == RECORDED:
                f.recorded += n
            elif status == "failed":
                f.failed += n
            elif status == "skipped":
                code = reason_code(reason)
                f.skipped[code] = f.skipped.get(code, 0) + n
            elif status == DEFERRED:
                f.waiting += n
        outcomes = {outcome: n for outcome, n in outcome_rows}
        steps = sorted(by_key.values(), key=lambda f: (f.step, f.channel))
        return Funnel(steps, outcomes, held_out=held_out_runs)

    async def versions(self, scenario: str) -> list[str]:
        return [v.version for v in await self.version_history(scenario)]

    async def version_history(self, scenario: str) -> list[VersionSeen]:
        """The versions runs have started with, newest first, with their first and last run."""
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(
                        RunOutcomeRow.version,
                        func.min(RunOutcomeRow.started_at),
                        func.max(RunOutcomeRow.started_at),
                    )
                    .where(RunOutcomeRow.scenario == scenario, RunOutcomeRow.version != "")
                    .group_by(RunOutcomeRow.version)
                )
            ).all()
        seen = [
            VersionSeen(v, _aware(first) or _EPOCH, _aware(last) or _EPOCH)
            for v, first, last in rows
        ]
        return sorted(seen, key=lambda v: v.last_run, reverse=True)

    # -- run outcomes (written by the console's sync from Temporal's visibility) -----------
    async def watermarks(self) -> tuple[datetime | None, datetime | None]:
        """The newest start and close already copied."""
        async with self.sessions() as s:
            row = (
                await s.execute(
                    select(func.max(RunOutcomeRow.started_at), func.max(RunOutcomeRow.closed_at))
                )
            ).one()
        return _aware(row[0]), _aware(row[1])

    async def save_outcomes(self, records: list[OutcomeRecord]) -> None:
        if not records:
            return
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            for start in range(0, len(records), 500):
                values = [vars(r) for r in records[start : start + 500]]
                stmt = insert(RunOutcomeRow).values(values)
                await s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["run_id"],
                        set_={
                            "status": stmt.excluded.status,
                            "outcome": stmt.excluded.outcome,
                            "closed_at": stmt.excluded.closed_at,
                            "version": stmt.excluded.version,
                        },
                    )
                )

    async def runs_of(self, customer_ref: str, limit: int = 50) -> list[OutcomeRecord]:
        async with self.sessions() as s:
            rows = await s.scalars(
                select(RunOutcomeRow)
                .where(RunOutcomeRow.customer_ref == customer_ref)
                .order_by(RunOutcomeRow.started_at.desc())
                .limit(limit)
            )
            return [
                OutcomeRecord(
                    r.run_id,
                    r.workflow_id,
                    r.scenario,
                    r.version,
                    r.customer_ref,
                    r.status,
                    r.outcome,
                    r.started_at,
                    r.closed_at,
                )
                for r in rows
            ]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # some drivers hand MAX() back as text
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

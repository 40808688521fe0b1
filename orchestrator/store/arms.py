"""Runs' arms in holdouts and splits (the engine's ``learning.ArmLog``), and what the console
counts from them: finished and converted runs per experiment and arm, joined with the run
outcomes copied from Temporal's visibility (``run_outcomes``) on workflow id and version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orchestrator.engine.learning import ArmRecord
from orchestrator.store.db import dialect_of, write_lock
from orchestrator.store.tables import RunArmRow, RunOutcomeRow


@dataclass
class ArmCount:
    experiment: str
    arm: str
    #: Runs that ended (any outcome but not_triggered).
    finished: int = 0
    converted: int = 0
    #: Runs still open: not counted in the conversion yet.
    running: int = 0


class SqlArms:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record(self, rows: list[ArmRecord]) -> None:
        if not rows:
            return
        async with write_lock(self.sessions), self.sessions() as s, s.begin():
            insert = pg_insert if dialect_of(s) == "postgresql" else sqlite_insert
            stmt = insert(RunArmRow).values(
                [
                    {
                        "workflow_id": r.workflow_id,
                        "version": r.version,
                        "experiment": r.experiment,
                        "scenario": r.scenario,
                        "customer_ref": r.customer_ref,
                        "arm": r.arm,
                        "assigned_at": r.at,
                    }
                    for r in rows
                ]
            )
            # The same workflow id and version always gets the same arms: keep the first.
            await s.execute(stmt.on_conflict_do_nothing())

    async def counts(
        self, scenario: str, since: datetime, until: datetime, version: str = ""
    ) -> list[ArmCount]:
        """Per experiment and arm, runs started in the period (one scenario, one version)."""
        o, a = RunOutcomeRow, RunArmRow
        query = (
            select(a.experiment, a.arm, o.outcome, func.count())
            .select_from(o)
            .join(a, (a.workflow_id == o.workflow_id) & (a.version == o.version))
            .where(
                o.scenario == scenario,
                o.started_at >= since,
                o.started_at < until,
                o.outcome != "not_triggered",
            )
            .group_by(a.experiment, a.arm, o.outcome)
        )
        if version:
            query = query.where(o.version == version)
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        found: dict[tuple[str, str], ArmCount] = {}
        for experiment, arm, outcome, n in rows:
            count = found.setdefault((experiment, arm), ArmCount(experiment, arm))
            if not outcome:
                count.running += n
            else:
                count.finished += n
                count.converted += n if outcome == "converted" else 0
        return sorted(found.values(), key=lambda c: (c.experiment, c.arm))

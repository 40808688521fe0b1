"""Activities that learn and measure: a ladder's order for a customer, whether a rung is worth
its cost, and a run's arms in a holdout or split.

Decided in activities, not in workflow code: they read the store, and their results are
recorded in history, so a replay takes the same order, skips the same rung and stays in the
same arm whatever the statistics say by then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from temporalio import activity

from channels.segments import segments
from orchestrator.engine.activities import Activities
from orchestrator.engine.affinity import Tally, judge, rank, reaction_chance
from orchestrator.engine.compose import compose, off_loop
from orchestrator.engine.contacts import Contact, ContactDirectory
from orchestrator.engine.definitions import Definitions
from orchestrator.engine.experiments import assign
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.learning_messages import (
    AssignRequest,
    AssignResult,
    RankRequest,
    RankResult,
    RungCheck,
    RungVerdict,
)
from orchestrator.engine.preferences import PreferenceReader, preferred_first
from orchestrator.engine.resolve import Send
from orchestrator.engine.sendlog import InMemorySendLog, SendLog, SendRecord, skip_record
from orchestrator.engine.tracking import Tracker
from orchestrator.language.experiment_syntax import worth
from orchestrator.language.expressions import ExpressionError, condition_context, to_datetime
from orchestrator.language.limits import EXPRESSION_LIMITS, TEMPLATE_LIMITS, Limits
from orchestrator.language.model import REACTIONS
from orchestrator.language.templates import TemplateProblem

log = logging.getLogger(__name__)
#: When scripted past messages were sent (they are counted, never dated).
HISTORY_AT = datetime(2000, 1, 1, tzinfo=UTC)


class ReactionStats(Protocol):
    """Messages sent and reacted to, per channel (``kinds``: opened, clicked, replied)."""

    async def of_customer(self, customer_id: str, kinds: Sequence[str]) -> dict[str, Tally]: ...

    async def of_shop(self, kinds: Sequence[str]) -> dict[str, Tally]: ...


@dataclass
class ArmRecord:
    """One run's arm in one experiment (``holdout``, or a split step's path)."""

    workflow_id: str
    version: str
    scenario: str
    customer_ref: str
    experiment: str
    arm: str
    at: datetime


class ArmLog(Protocol):
    async def record(self, rows: list[ArmRecord]) -> None: ...


class InMemoryReactionStats:
    """Reactions per channel counted from an in-memory send log, by the SQL store's rule (a
    message counts when it was ``sent``, test sends aside; it reacted when it has one of
    ``kinds`` marked): tests/store/test_contract_learning.py holds the two together. The
    shop-wide figures are ``shop`` if given, else the whole log's."""

    def __init__(self, log: InMemorySendLog | None = None, shop: dict[str, Tally] | None = None):
        self.log = log if log is not None else InMemorySendLog()
        self.shop = shop

    @classmethod
    def scripted(
        cls, customers: dict[str, dict[str, Tally]], shop: dict[str, Tally] | None = None
    ) -> InMemoryReactionStats:
        """Past messages as tallies (the simulator's ``--history``, tests): customer ->
        channel -> (sent, reacted); a message that reacted did so every way a scenario counts."""
        log = InMemorySendLog()
        for customer, tallies in customers.items():
            for channel, tally in tallies.items():
                for i in range(tally.sent):
                    key = f"history/{customer}/{channel}/{i}"
                    log.entries[key] = SendRecord(
                        key=key,
                        customer_id=customer,
                        scenario="history",
                        step="",
                        channel=channel,
                        template="",
                        status="sent",
                        at=HISTORY_AT,
                    )
                    if i < tally.reacted:
                        log.marks[key] = dict.fromkeys(REACTIONS, HISTORY_AT)
        return cls(log, shop)

    def _tallies(self, kinds: Sequence[str], customer_id: str | None) -> dict[str, Tally]:
        counted = [k for k in kinds if k in REACTIONS] or list(REACTIONS)
        found: dict[str, Tally] = {}
        for key, entry in self.log.entries.items():
            if entry.status != "sent" or entry.test:
                continue
            if customer_id is not None and entry.customer_id != customer_id:
                continue
            reacted = any(k in self.log.marks.get(key, {}) for k in counted)
            was = found.get(entry.channel, Tally())
            found[entry.channel] = Tally(was.sent + 1, was.reacted + int(reacted))
        return found

    async def of_customer(self, customer_id: str, kinds: Sequence[str]) -> dict[str, Tally]:
        return self._tallies(kinds, customer_id)

    async def of_shop(self, kinds: Sequence[str]) -> dict[str, Tally]:
        return dict(self.shop) if self.shop is not None else self._tallies(kinds, None)


class InMemoryArmLog:
    """Arms in a list; a run's arm in an experiment is recorded once (the first), as the SQL
    store keeps it: a retried ``assign`` activity records the same rows again."""

    def __init__(self) -> None:
        self.rows: list[ArmRecord] = []

    async def record(self, rows: list[ArmRecord]) -> None:
        held = {(r.workflow_id, r.version, r.experiment) for r in self.rows}
        for row in rows:
            if (row.workflow_id, row.version, row.experiment) not in held:
                held.add((row.workflow_id, row.version, row.experiment))
                self.rows.append(row)


class Learning:
    """Holds the collaborators; the worker registers the bound methods beside ``Activities``."""

    def __init__(
        self,
        *,
        stats: ReactionStats,
        arms: ArmLog,
        directory: ContactDirectory,
        send_log: SendLog | None = None,
        tracker: Tracker | None = None,
        default_timezone: str = "UTC",
        template_limits: Limits = TEMPLATE_LIMITS,
        definitions: Definitions | None = None,
        preferences: PreferenceReader | None = None,
    ) -> None:
        self.definitions = definitions or Definitions()
        #: A stated preferred channel goes first in a learned order (None: not kept).
        self.preferences = preferences
        self.stats = stats
        self.arms = arms
        self.directory = directory
        self.send_log = send_log
        self.tracker = tracker
        self.default_timezone = default_timezone
        self.template_limits = template_limits

    @classmethod
    def beside(
        cls,
        activities: Activities,
        *,
        stats: ReactionStats | None = None,
        arms: ArmLog | None = None,
    ) -> Learning:
        """Sharing the send activities' contacts, send log and tracker."""
        return cls(
            stats=stats if stats is not None else InMemoryReactionStats(),
            arms=arms if arms is not None else InMemoryArmLog(),
            directory=activities.directory,
            send_log=activities.send_log,
            tracker=activities.tracker,
            default_timezone=activities.default_timezone,
            template_limits=activities.template_limits,
            definitions=activities.definitions,
            preferences=activities.preferences,
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [self.rank_channels, self.judge_rung, self.assign]

    @activity.defn(name="rank_channels")
    async def rank_channels(self, req: RankRequest) -> RankResult:
        own = await self.stats.of_customer(req.customer_id, req.kinds)
        shop = await self.stats.of_shop(req.kinds)
        ranking = rank(req.channels, own, shop)
        order, why = ranking.order, ranking.explanation
        preferred = ""
        if self.preferences is not None:
            preferred = (await self.preferences.preferences(req.customer_id)).preferred_channel
        if preferred in req.channels and order and req.channels[order[0]] != preferred:
            order = preferred_first(order, req.channels, preferred)
            why = f"{preferred} first: the customer's preferred channel; learned: {why}"
        return RankResult(order, ranking.chances, why)

    @activity.defn(name="judge_rung")
    async def judge_rung(self, req: RungCheck) -> RungVerdict:
        own = await self.stats.of_customer(req.customer_id, req.kinds)
        shop = await self.stats.of_shop(req.kinds)
        chance = reaction_chance(own.get(req.channel, Tally()), shop.get(req.channel, Tally()))
        contact = await self.directory.get(req.customer_id)
        if contact is None:
            return RungVerdict(problem="unknown contact", chance=chance)
        context = condition_context(
            event=req.event, trigger=req.trigger, contact=contact.public(), engagement={}
        )
        try:
            value = await off_loop(
                worth, req.value, context, timeout=EXPRESSION_LIMITS.max_seconds + 5
            )
        except (ExpressionError, TimeoutError) as exc:
            return RungVerdict(problem=f"cost not weighed: {exc or 'time limit'}", chance=chance)
        units = 1
        if req.cost.per == "segment":
            try:
                units = await self._segments(req, contact)
            except TemplateProblem as exc:
                return RungVerdict(problem=f"cost not weighed: {exc}", chance=chance)
        verdict = judge(chance, value, req.cost.amount, units, req.cost.per)
        if verdict.skip and self.send_log is not None:
            await self.send_log.record(self._skipped(req, verdict.reason))
        return RungVerdict(verdict.skip, verdict.reason, "", chance, value, round(verdict.cost, 6))

    async def _segments(self, req: RungCheck, contact: Contact) -> int:
        """The SMS's segments as the send would render it: this customer, tracked links."""
        composed = await compose(
            Send(
                key=req.key,
                scenario=req.scenario,
                category=req.category,
                topic="",
                step=req.step,
                channel=req.channel,
                template=req.template,
                sources=req.sources
                or await self.definitions.sources(req.version, req.template, req.channel),
                customer_id=req.customer_id,
                now=req.now,
                run=req.run,
                trigger=req.trigger,
                event=req.event,
                run_ref=req.run_ref,
                version=req.version,
            ),
            contact,
            timezone=contact.timezone or self.default_timezone,
            tracker=self.tracker,
            shorten=True,
            limits=self.template_limits,
        )
        return max(1, segments(composed.message.text).segments)

    @staticmethod
    def _skipped(req: RungCheck, reason: str) -> SendRecord:
        return skip_record(req, to_datetime(req.now), reason)

    @activity.defn(name="assign")
    async def assign(self, req: AssignRequest) -> AssignResult:
        found = assign(req.scenario, req.customer_id, req.holdout_pct, req.splits)
        at = datetime.now(UTC)
        rows = [
            ArmRecord(
                req.workflow_id,
                req.version,
                req.scenario,
                customer_ref(req.customer_id),
                e,
                arm,
                at,
            )
            for e, arm in found.arms(req.holdout_pct > 0).items()
        ]
        await self.arms.record(rows)
        return AssignResult(found.held_out, found.variants, found.describe(req.holdout_pct))

"""The ``best_time`` activity: when a send with ``at: best_time`` should go, decided once.

A local activity of the run (its result is a marker in history, so a replay holds for the same
moment whatever the send log says by then). It reads the customer's own latest reactions and
the shop's through ``ReactionTimes`` (the send log, ``store/send_times.py``), decides with the
pure ``engine/send_time.py`` and, when it holds the message, records the decision through
``SendTimeLog`` for the console's chart of messages still to go. "Learned live": nothing is
computed ahead; each decision reads the send log as it is at that moment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from temporalio import activity

from orchestrator.engine.contacts import ContactDirectory
from orchestrator.engine.send_time import NOTHING, Choice, Reaction, ShopPrior, choose, shop_prior
from orchestrator.language.expressions import to_datetime
from orchestrator.language.model import QuietHours

if TYPE_CHECKING:
    from orchestrator.engine.activities import Activities

log = logging.getLogger(__name__)

#: A customer's latest reacted messages that make their profile (the query's bound).
OWN_LIMIT = 200


class ReactionTimes(Protocol):
    """Reactions (first of ``kinds`` on each sent message) as ``send_time.Reaction``."""

    async def of_customer(
        self, customer_id: str, kinds: Sequence[str], limit: int = OWN_LIMIT
    ) -> list[Reaction]: ...

    async def of_shop(self, kinds: Sequence[str]) -> list[Reaction]:
        """The shop's latest reactions, each with its customer's zone."""
        ...


@dataclass
class SendTimeRecord:
    """A held send: the console counts the ones still to go by local hour."""

    key: str
    customer_id: str
    scenario: str
    version: str
    step: str
    channel: str
    decided_at: datetime
    send_at: datetime
    local_day: int
    local_hour: int
    source: str


class SendTimeLog(Protocol):
    async def record(self, entry: SendTimeRecord) -> None: ...


class InMemoryReactionTimes:
    """Scripted reactions (the simulator, tests): customer -> reactions, and the shop's
    (each with its customer's zone; none by default)."""

    def __init__(
        self,
        customers: dict[str, list[Reaction]] | None = None,
        shop: list[Reaction] | None = None,
    ) -> None:
        self.customers = customers or {}
        self.shop = shop or []
        self.records: list[SendTimeRecord] = []

    async def of_customer(
        self, customer_id: str, kinds: Sequence[str], limit: int = OWN_LIMIT
    ) -> list[Reaction]:
        return [r for r in self.customers.get(customer_id, []) if r.kind in kinds][:limit]

    async def of_shop(self, kinds: Sequence[str]) -> list[Reaction]:
        return [r for r in self.shop if r.kind in kinds]

    async def record(self, entry: SendTimeRecord) -> None:
        self.records.append(entry)


@dataclass
class BestTimeRequest:
    """Decide when one send goes (for ``first_of``: its channels, once)."""

    key: str
    customer_id: str
    scenario: str
    step: str
    channels: list[str]
    #: The workflow's now: the decision is relative to the run's clock, not the worker's.
    now: str
    within_s: int
    fallback: str = "now"
    kinds: list[str] = field(default_factory=list)
    quiet_hours: QuietHours | None = None
    version: str = ""


@dataclass
class BestTimeResult:
    #: When to send (ISO); the request's ``now`` when at once.
    at: str
    held: bool = False
    #: own, shop or fallback.
    source: str = ""
    #: "4 of 5 past opens 18-20h".
    reason: str = ""
    #: "Tue 19:00" in the customer's zone.
    local: str = ""

    def describe(self) -> str:
        if self.held:
            return f"holding for {self.local} local: {self.reason}"
        return f"at once: {self.reason}"


class SendTiming:
    """Holds the collaborators; the worker registers ``best_time`` beside ``Activities``."""

    def __init__(
        self,
        *,
        times: ReactionTimes,
        directory: ContactDirectory,
        decisions: SendTimeLog | None = None,
        default_timezone: str = "UTC",
    ) -> None:
        self.times = times
        self.directory = directory
        self.decisions = decisions
        self.default_timezone = default_timezone
        #: The shop's prior per sample (the store keeps one sample for minutes) and channels.
        self._priors: dict[tuple[int, tuple[str, ...]], tuple[list[Reaction], ShopPrior]] = {}

    @classmethod
    def beside(
        cls,
        activities: Activities,
        *,
        times: ReactionTimes | None = None,
        decisions: SendTimeLog | None = None,
    ) -> SendTiming:
        """Sharing the send activities' contacts and default zone; without ``times`` nothing
        is known (every decision is the fallback)."""
        return cls(
            times=times if times is not None else InMemoryReactionTimes(),
            directory=activities.directory,
            decisions=decisions,
            default_timezone=activities.default_timezone,
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [self.best_time]

    @activity.defn(name="best_time")
    async def best_time(self, req: BestTimeRequest) -> BestTimeResult:
        now = to_datetime(req.now)
        contact = await self.directory.get(req.customer_id)
        timezone = (contact.timezone if contact else "") or self.default_timezone
        kinds = req.kinds or ["opened", "clicked", "replied"]
        unknown = NOTHING
        try:
            own = await self.times.of_customer(req.customer_id, kinds)
            shop = await self.times.of_shop(kinds)
        except Exception as exc:  # advice: without the store the fallback decides
            log.warning("best time for %s: reactions unreadable: %r", req.key, exc)
            own, shop = [], []
            unknown = f"reactions could not be read ({type(exc).__name__})"
        choice = choose(
            now=now,
            within_s=req.within_s,
            own=own,
            shop=self._prior(shop, req.channels),
            channels=req.channels,
            timezone=timezone,
            default_tz=self.default_timezone,
            quiet=req.quiet_hours,
            fallback=req.fallback,
            unknown=unknown,
        )
        if choice.held and self.decisions is not None:
            try:
                await self.decisions.record(self._record(req, now, choice))
            except Exception as exc:  # only the console's chart misses it
                log.warning("best time for %s not recorded: %r", req.key, exc)
        return BestTimeResult(
            at=choice.moment.isoformat(),
            held=choice.held,
            source=choice.source,
            reason=choice.reason,
            local=choice.local,
        )

    def _prior(self, shop: list[Reaction], channels: list[str]) -> ShopPrior:
        """Made once per sample of the shop's reactions and set of channels."""
        key = (id(shop), tuple(channels))
        kept = self._priors.get(key)
        if kept is not None and kept[0] is shop:
            return kept[1]
        if len(self._priors) >= 64:
            self._priors.clear()
        prior = shop_prior(shop, channels, self.default_timezone)
        self._priors[key] = (shop, prior)
        return prior

    @staticmethod
    def _record(req: BestTimeRequest, now: datetime, choice: Choice) -> SendTimeRecord:
        return SendTimeRecord(
            key=req.key,
            customer_id=req.customer_id,
            scenario=req.scenario,
            version=req.version,
            step=req.step,
            channel=req.channels[0] if req.channels else "",
            decided_at=now,
            send_at=choice.moment,
            local_day=choice.hour_of_week // 24,
            local_hour=choice.hour_of_week % 24,
            source=choice.source,
        )

"""Send policies: quiet hours in the customer's time zone, frequency caps, consent.

Pure functions of their inputs (``now`` always comes from the workflow clock) so they are
unit-testable across time zones and DST changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, field_validator

from orchestrator.language.model import FrequencyCap, QuietHours
from orchestrator.language.policy_syntax import PolicyError, parse_cap, parse_window
from orchestrator.language.timezones import zone


def quiet_until(now: datetime, quiet: QuietHours, timezone: str) -> datetime | None:
    """When ``now`` falls inside the customer's quiet hours, the UTC instant they end."""
    start, end = parse_window(f"{quiet.start}-{quiet.end}")
    tz = zone(timezone)
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside:
        return None
    end_date = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    # A wall-clock end inside a DST gap resolves to the first valid instant after it.
    candidate = datetime.combine(end_date, end, tzinfo=tz).astimezone(UTC)
    while candidate <= now:  # only possible around DST folds
        candidate += timedelta(hours=1)
    return candidate


def cap_reached(
    caps: Iterable[FrequencyCap],
    sent: Iterable[tuple[datetime, str]],
    *,
    channel: str,
    now: datetime,
) -> FrequencyCap | None:
    """The first cap another message on ``channel`` would break, given (sent_at, channel)."""
    history = list(sent)
    for cap in caps:
        if cap.channel is not None and cap.channel != channel:
            continue
        since = now - timedelta(seconds=cap.window_s)
        count = sum(
            1
            for at, ch in history
            if since < at <= now and (cap.channel is None or ch == cap.channel)
        )
        if count >= cap.limit:
            return cap
    return None


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: str = ""


#: Suppressions that end marketing only: transactional messages (a receipt, a reminder the
#: customer registered for) still go. Every other reason (everything, stop, bounced, blocked,
#: expired) ends every message on the channel.
MARKETING_ONLY = frozenset({"unsubscribed"})


def consent(
    *,
    category: str,
    channel: str,
    consents: dict[str, bool],
    suppressions: dict[str, str],
) -> ConsentDecision:
    """A marketing unsubscribe stops marketing on the channel; other suppressions (an opt-out
    of everything, STOP, bounces, a blocked bot) stop every send on it. Marketing also needs
    the customer's explicit consent for the channel."""
    reason = suppressions.get(channel)
    if reason is not None and not (category != "marketing" and reason in MARKETING_ONLY):
        return ConsentDecision(False, f"suppressed: {reason}")
    if category == "marketing" and consents.get(channel) is not True:
        if consents.get(channel) is False:
            return ConsentDecision(False, "no_consent: customer refused")
        return ConsentDecision(False, "no_consent: never granted")
    return ConsentDecision(True)


class FrequencyPolicy(BaseModel):
    """The shop-wide frequency policy every marketing scenario obeys, per customer, across all
    scenarios. A scenario's own ``frequency_cap`` applies on top, so it can only be stricter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Caps such as "4 per 1d" (all channels) or "1 sms per 2d" (one channel).
    caps: tuple[str, ...] = ("4 per 1d",)
    #: Hold transactional messages to these caps too (by default they are exempt).
    transactional: bool = False

    @field_validator("caps")
    @classmethod
    def _readable(cls, caps: tuple[str, ...]) -> tuple[str, ...]:
        for text in caps:
            try:
                parse_cap(text)
            except PolicyError as exc:
                raise ValueError(f"{exc}; {exc.hint}") from None
        return caps

    def parsed(self) -> list[FrequencyCap]:
        return [parse_cap(text) for text in self.caps]

    def for_category(self, category: str) -> list[FrequencyCap]:
        return self.parsed() if category == "marketing" or self.transactional else []

"""The console in the marketer's words: why a message was skipped or deferred, what a step is
called, and one way of writing a moment ("Tue 7 Dec, 14:05 UTC · 3 h ago").

Times are rendered here in UTC, inside ``<time datetime=...>``; ``static/console.js`` rewrites
them in the viewer's own time zone (the page reads the same without JavaScript).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from orchestrator.language.model import Scenario
from orchestrator.language.names import names_by_path

#: Reason code (the send log's reason up to ":") -> what it means, in a few words. A skip and
#: a hold read alike ("skipped · quiet hours", "held · quiet hours").
REASONS = {
    "too_late": "too late",
    "holdout": "held out (holdout group)",
    "quiet_hours": "quiet hours",
    "frequency_cap": "frequency cap reached",
    "no_consent": "no consent",
    "suppressed": "unsubscribed or blocked",
    "no_address": "no address on file",
    "unknown_contact": "customer unknown",
    "paused_by_customer": "paused by the customer",
    "topic_off": "topic turned off by the customer",
    "stopped_by_goal": "stopped: goal reached",
    "stopped_by_exit": "stopped: exit event",
    "stopped_by_cancel": "stopped: run cancelled",
    "stopped_by_restart": "stopped: run restarted",
    "template_error": "template error",
    "trigger_data_gone": "trigger data erased",
    "events_pending": "earlier events on their way",
    "not_worth_it": "not worth its cost",
    "too_costly": "not worth its cost",
    "uncertain": "outcome uncertain",
    "whatsapp_window": "WhatsApp window closed",
    "whatsapp_session_closed": "WhatsApp window closed",
    "error": "provider error",
    "retrying": "retrying",
}
#: A message's status, as the console says it (a skip or failure adds its reason).
STATUSES = {
    "sent": "sent",
    "recorded": "recorded, not sent",
    "skipped": "skipped",
    "failed": "failed",
    "deferred": "held now",
    "reserved": "sending",
    "sending": "sending",
    "uncertain": "uncertain",
}
#: The periods a page counts over (days -> words).
PERIODS = {"1": "last 24 hours", "7": "last 7 days", "30": "last 30 days", "365": "last year"}


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0].strip() or "unknown"


def reason_words(reason: str) -> str:
    """``too_late: the moment ... passed`` -> ``too late``; unknown codes read with spaces."""
    code = reason_code(reason)
    return REASONS.get(code, code.replace("_", " "))


def reason_detail(reason: str) -> str:
    """What follows the code, if anything (shown on hover)."""
    return reason.split(":", 1)[1].strip() if ":" in reason else ""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def relative(moment: datetime, now: datetime) -> str:
    """``3 h ago``, ``in 20 min``, ``just now``."""
    seconds = (_utc(now) - _utc(moment)).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 45:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{round(seconds / size)} {unit}"
            return f"in {text}" if ahead else f"{text} ago"
    return "just now"


def when(moment: datetime | str | None, now: datetime | None = None) -> Markup:
    """``<time datetime="...">Tue 7 Dec, 14:05 UTC · 3 h ago</time>``; a dash for no moment."""
    if moment is None or moment == "":
        return Markup("–")
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    at = _utc(moment)
    now = now or datetime.now(UTC)
    year = "" if at.year == now.year else f" {at.year}"
    text = f"{at:%a} {at.day} {at:%b}{year}, {at:%H:%M} UTC · {relative(at, now)}"
    iso = at.isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, iso, text)


def path_words(path: str) -> str:
    """A step path of a version no longer loaded, readable: ``steps.2.rung1`` -> ``step 2,
    rung 1``."""
    parts = path.split(".")[1:] if path.startswith("steps.") else path.split(".")
    out = []
    for part in parts:
        if part.isdigit():
            out.append(f"step {part}")
        elif part.startswith("rung") and part[4:].isdigit():
            out.append(f"rung {part[4:]}")
        else:
            out.append(part.replace("_", " "))
    return ", ".join(out) or path


class StepNames:
    """Step path -> name for the loaded scenarios (a path of another version still reads)."""

    def __init__(self, scenarios: dict[str, Scenario]) -> None:
        self._scenarios = scenarios
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, scenario: str, path: str) -> Markup:
        s = self._scenarios.get(scenario)
        names: dict[str, str] = {}
        if s is not None:
            names = self._cache.setdefault((s.id, s.version), names_by_path(s))
        name = names.get(path) or path_words(path)
        return Markup('<span class="step" data-path="{}" title="{}">{}</span>').format(
            path, path, name
        )


#: What each channel reports back: a rate is shown only where it is measured (email reports
#: no delivery; only SMS and WhatsApp delivery receipts come back, through Twilio).
MEASURED = {
    "email": frozenset({"opened", "clicked"}),
    "push": frozenset({"clicked"}),
    "telegram": frozenset({"clicked", "replied"}),
    "sms": frozenset({"delivered", "clicked", "replied"}),
    "whatsapp": frozenset({"delivered", "clicked", "replied"}),
}


def measured(channel: str, what: str) -> bool:
    return what in MEASURED.get(channel, frozenset())


@dataclass(frozen=True)
class Chip:
    """One count the console shows: ``skipped · too late 5``."""

    label: str
    count: int
    #: The reason code it filters Messages by ("" for none).
    reason: str = ""


def _fate_label(status: str, reason: str, held: str) -> tuple[str, str]:
    words = STATUSES.get(status, status.replace("_", " "))
    if status in ("skipped", "failed"):
        return f"{words} · {reason_words(reason)}", reason_code(reason)
    if status == "deferred":
        return f"{words} · {reason_words(held or reason)}", held or reason_code(reason)
    return words, ""


def fate_chips(counts: Iterable[Any]) -> list[Chip]:
    """Every fate with its count (``FateCount``s from the store: status, reason, held,
    count), sent first: ``[sent 3, skipped · too late 2, held now · quiet hours 1]``."""
    found: dict[tuple[str, str], int] = {}
    for c in counts:
        key = _fate_label(c.status, c.reason, c.held)
        found[key] = found.get(key, 0) + c.count
    chips = [Chip(label, n, code) for (label, code), n in found.items()]
    return sorted(chips, key=lambda c: (c.label != "sent", -c.count, c.label))


def hold_chips(counts: Iterable[Any]) -> list[Chip]:
    """Messages held back before they went (quiet hours, ...), by reason, whatever came of
    them: ``[quiet hours 7]``."""
    found: dict[str, int] = {}
    for c in counts:
        if c.held:
            found[c.held] = found.get(c.held, 0) + c.count
    chips = [Chip(reason_words(code), n, code) for code, n in found.items()]
    return sorted(chips, key=lambda c: (-c.count, c.label))

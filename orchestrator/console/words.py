"""The console in the marketer's words: why a message was skipped or deferred, what a step is
called, and one way of writing a moment ("Tue 7 Dec, 14:05 UTC · 3 h ago").

Times are rendered here in UTC, inside ``<time datetime=...>``; ``static/console.js`` rewrites
them in the viewer's own time zone (the page reads the same without JavaScript).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from orchestrator.language.model import Scenario
from orchestrator.language.names import names_by_path

#: Reason code (the send log's reason up to ":") -> what it means, in a few words.
REASONS = {
    "too_late": "too late",
    "holdout": "held out (holdout group)",
    "quiet_hours": "quiet hours",
    "frequency_cap": "frequency cap reached",
    "no_consent": "no consent",
    "suppressed": "unsubscribed or blocked",
    "no_address": "no address on file",
    "unknown_contact": "customer unknown",
    "stopped_by_goal": "stopped: goal reached",
    "stopped_by_exit": "stopped: exit event",
    "stopped_by_cancel": "stopped: run cancelled",
    "stopped_by_restart": "stopped: run restarted",
    "template_error": "template error",
    "events_pending": "waiting for earlier events",
    "not_worth_it": "not worth its cost",
    "too_costly": "not worth its cost",
    "uncertain": "outcome uncertain",
    "whatsapp_window": "WhatsApp window closed",
}


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


def outcome_counts(messages: list[Any]) -> list[tuple[str, int]]:
    """``[("sent", 3), ("skipped · too late", 2)]``: every status and reason, with its count."""
    counts: dict[str, int] = {}
    for m in messages:
        label = m.status if m.status == "sent" else f"{m.status} · {reason_words(m.reason)}"
        counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items(), key=lambda item: (item[0] != "sent", -item[1], item[0]))

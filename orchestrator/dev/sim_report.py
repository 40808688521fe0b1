"""The simulator's report: a run's timeline as JSON or as text with offsets and local times."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator.engine.messages import TimelineEntry
from orchestrator.language.durations import format_duration
from orchestrator.language.timezones import UnknownTimezone, zone


@dataclass
class Simulation:
    scenario: str
    version: str
    outcome: str
    timeline: list[dict[str, Any]] = field(default_factory=list)
    customer_id: str = ""
    #: The run's identity within the scenario: the customer and the ``per:`` key.
    run_key: str = ""
    #: The moment of the trigger (UTC, ISO) and the customer's zone, for absolute times.
    started_at: str = ""
    timezone: str = "UTC"
    #: Whole weeks the sample data's timestamps were moved forward (sim_dates).
    sample_weeks: int = 0

    def local(self, offset_s: int) -> str:
        """Wall-clock time of an offset in the customer's zone: ``Mon 05 Jan 11:00 CET``."""
        if not self.started_at:
            return ""
        try:
            tz = zone(self.timezone or "UTC")
        except UnknownTimezone:
            tz = zone("UTC")
        moment = datetime.fromisoformat(self.started_at) + timedelta(seconds=offset_s)
        # To the nearest minute, as shown: the start's fraction of a second plus a floored
        # offset may fall just before the minute the step was due (09:59:59.6 for 10:00).
        moment = (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)
        return moment.astimezone(tz).strftime("%a %d %b %H:%M %Z")

    def to_json(self) -> str:
        return json.dumps(
            {
                "scenario": self.scenario,
                "version": self.version,
                "customer_id": self.customer_id,
                "run_key": self.run_key,
                "outcome": self.outcome,
                "timeline": self.timeline,
                "started_at": self.started_at,
                "timezone": self.timezone,
                "sample_weeks": self.sample_weeks,
            },
            ensure_ascii=False,
            indent=2,
        )

    def to_text(self) -> str:
        lines = [
            f"{self.scenario} (version {self.version}) · customer {self.customer_id!r}"
            f" · run {self.run_key}" + (f" · times in {self.timezone}" if self.started_at else "")
        ]
        if self.sample_weeks:
            lines.append(
                f"  (the sample's dates moved {self.sample_weeks} weeks forward, to a week"
                " after the start)"
            )
        for e in self.timeline:
            offset = "+" + format_duration(e["offset_s"])
            what = (
                e["event"]
                if e["kind"] == "event"
                else " ".join(x for x in (e["channel"], e["template"]) if x)
            )
            if e["kind"] == "exit":
                what = e["reason"]
            line = f"  {offset:>10}  {self.local(e['offset_s']):<20}  {e['kind']:<7}  {what}"
            if e.get("step"):
                line += f"  [{e['step']}]"
            if e["kind"] == "skip" and e["reason"]:
                line += f"  skipped: {e['reason']}"
            if e["kind"] == "decision":
                line += f"  {e['reason']}"
            if e["kind"] == "problem":
                line += f"{e.get('event', '')}  PROBLEM: {e['reason']}"
            if e["kind"] == "event" and e.get("reason"):
                line += f"  ({e['reason']})"
            if e.get("detail"):
                line += f"  ({e['detail']})"
            if e.get("deferred_from_s") is not None:
                line += f"  (deferred from +{format_duration(e['deferred_from_s'])}: quiet hours)"
            lines.append(line)
            if e.get("preview"):
                lines.append(f"{'':36}> {e['preview']}")
        lines.append(f"outcome: {self.outcome}")
        return "\n".join(lines)


def deferred_offset(entries: list[TimelineEntry], entry: dict[str, Any], started: datetime) -> int:
    for e in entries:
        if e.key == entry.get("key") and e.deferred_from:
            return int((datetime.fromisoformat(e.deferred_from) - started).total_seconds())
    return 0


def entry_json(e: TimelineEntry, offset: float) -> dict[str, Any]:
    return {
        # Whole seconds, floored: an entry is written a moment after its timer fell due (the
        # time-skipping clock runs in real time while activities work), never before it.
        "offset_s": math.floor(offset),
        "kind": e.kind,
        "channel": e.channel,
        "template": e.template,
        "step": e.step,
        "status": e.status,
        "reason": e.reason,
        "event": e.event,
        "preview": e.preview,
        "deferred_from": e.deferred_from,
        "key": e.key,
        "detail": e.detail,
    }

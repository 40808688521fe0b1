"""The validated scenario definition.

These dataclasses travel inside the workflow input, so a run keeps the exact version it started
with while marketers edit YAML. New fields must get defaults: old histories must still replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("email", "push", "telegram", "sms", "whatsapp")
#: How long a run in a holdout or split counts its goal when ``goal_window`` is not given.
DEFAULT_GOAL_WINDOW_S = 7 * 86400
REACTIONS = ("opened", "clicked", "replied")
# Tracking (opens, clicks, replies) reaches a run as these events.
REACTION_EVENTS = {
    "message_opened": "opened",
    "message_clicked": "clicked",
    "message_replied": "replied",
}


@dataclass
class EventMatch:
    """An event name, optionally only when a condition on its data holds."""

    event: str
    when: str | None = None


#: The longest ``trigger.spread``: it delays every run's first step, so hours at most.
MAX_SPREAD_S = 24 * 3600


@dataclass
class Trigger:
    event: str
    when: str | None = None
    #: Dotted path into the trigger data that keys the run (``cart.id``); None: the customer.
    per: str | None = None
    #: What a new trigger event does to a running run: restart | ignore | signal.
    again: str = "restart"
    #: At most one run per customer and key per this many seconds (counted from the start):
    #: the finished run stays open until then and ignores events (see README, "Cooldown").
    cooldown_s: int | None = None
    #: Start each run up to this many seconds after its event, spread evenly by run id, so a
    #: burst of events does not return at every rung at once (see docs/scaling.md).
    spread_s: int | None = None


@dataclass
class QuietHours:
    start: str
    end: str
    #: wait: hold the send until the window ends; skip: drop it with a recorded reason.
    action: str = "wait"


@dataclass
class FrequencyCap:
    """At most ``limit`` messages per ``window_s`` seconds to one customer, across scenarios."""

    limit: int
    window_s: int
    channel: str | None = None


#: ``at: best_time`` without ``within``: hold a send for at most a day (Iterable's longest).
DEFAULT_BEST_TIME_WITHIN_S = 24 * 3600
#: The longest hold: a profile knows one week of hours, so later would only repeat them.
MAX_BEST_TIME_WITHIN_S = 7 * 86400
#: The shortest: the hold picks an hour, so a window must hold at least one.
MIN_BEST_TIME_WITHIN_S = 3600


@dataclass
class BestTime:
    """``at: best_time``: the message goes within ``within_s`` seconds, at the hour this
    customer is likeliest to react (their own reactions shrunk toward the shop's)."""

    within_s: int = DEFAULT_BEST_TIME_WITHIN_S
    #: When nobody's reactions say anything: ``now`` (at once) or a local ``HH:MM``.
    fallback: str = "now"


@dataclass
class Rung:
    channel: str
    template: str
    #: How long to wait for a reaction before the next rung (None on the last rung: no wait).
    wait_s: int | None = None
    #: ``at: best_time`` on this rung: held for its customer's best hour before it goes.
    best_time: BestTime | None = None


@dataclass
class ContentTemplate:
    """A WhatsApp message template approved by WhatsApp, as Twilio's Content API holds it
    (``templates/<name>/whatsapp[.<locale>].yaml``): the only kind of message a business may
    start a conversation with, or send 24 h after the customer last wrote."""

    #: The Content SID: ``HX`` and 32 hex digits.
    sid: str
    #: "1", "2", ... -> the Jinja2 expression that fills ``{{1}}``, ``{{2}}``, ...
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class RungCost:
    """What one message on a channel costs: ``amount`` per message, or per SMS segment."""

    amount: float
    per: str = "message"


@dataclass
class Variant:
    """One arm of a ``split`` step: its name and the steps its customers take."""

    name: str
    steps: list[Step] = field(default_factory=list)


#: The most events one ``collect`` step gathers (and one digest message lists).
MAX_COLLECT = 100


@dataclass
class Collect:
    """A digest window: this customer's ``event`` events for ``window_s`` seconds, at most
    ``max`` distinct items (by ``key``, a dotted path into the event data; None: each event)."""

    event: str
    window_s: int
    max: int = 20
    key: str | None = None


@dataclass
class Step:
    """One step; ``kind`` says which of the optional fields apply."""

    kind: str
    path: str
    line: int = 0
    wait_s: int | None = None
    at: str | None = None
    at_offset_s: int = 0
    late: str = "skip"
    #: send: ``ignore`` lets a send that answers the trigger at once (nothing waits before it)
    #: go inside the scenario's quiet hours: the customer has just acted, so they are awake.
    quiet_hours: str = "apply"
    #: wait_until a local wall-clock time (HH:MM) in the customer's zone; ``at`` then names the
    #: date (None: the next such time) and ``at_days`` shifts it by calendar days.
    at_time: str | None = None
    at_days: int = 0
    channels: list[str] = field(default_factory=list)
    template: str | None = None
    rungs: list[Rung] = field(default_factory=list)
    condition: str | None = None
    then: list[Step] = field(default_factory=list)
    otherwise: list[Step] = field(default_factory=list)
    events: list[EventMatch] = field(default_factory=list)
    timeout_s: int | None = None
    on_event: list[Step] = field(default_factory=list)
    on_timeout: list[Step] = field(default_factory=list)
    reason: str | None = None
    #: escalate: ``fixed`` (as written) or ``learned`` (by this customer's reactions per channel).
    order: str = "fixed"
    #: escalate: channel -> cost of one message; a rung whose expected worth (its reaction
    #: probability times ``value``) is below its cost is skipped.
    costs: dict[str, RungCost] = field(default_factory=dict)
    #: escalate: an expression for what one reaction is worth, e.g. ``cart.total``.
    value: str | None = None
    #: split: the variants, each customer in one of them by a stable hash.
    variants: list[Variant] = field(default_factory=list)
    #: The marketer's name for the step (``name:``); "" gets one derived from what it does
    #: (``orchestrator.language.names``).
    name: str = ""
    #: collect: the digest window (``events`` names the one event, ``timeout_s`` the window).
    collect: Collect | None = None
    #: send: ``at: best_time`` holds the message for its customer's best hour.
    best_time: BestTime | None = None

    def branches(self) -> list[Step]:
        """Every step nested directly under this one (branches and variants)."""
        nested = self.then + self.otherwise + self.on_event + self.on_timeout
        for variant in self.variants:
            nested += variant.steps
        return nested


@dataclass
class Scenario:
    id: str
    trigger: Trigger
    steps: list[Step]
    title: str = ""
    description: str = ""
    #: marketing needs per-channel consent; transactional only honours suppressions.
    category: str = "marketing"
    #: What the messages are about (cart_reminders, webinars…): a customer may turn a
    #: marketing topic off in the preference center. "" : no topic.
    topic: str = ""
    goals: list[EventMatch] = field(default_factory=list)
    exits: list[EventMatch] = field(default_factory=list)
    reaction: list[str] = field(default_factory=lambda: list(REACTIONS))
    quiet_hours: QuietHours | None = None
    frequency_caps: list[FrequencyCap] = field(default_factory=list)
    #: "<template>/<channel>" -> locale ("" is the default) -> Jinja2 source.
    templates: dict[str, dict[str, str]] = field(default_factory=dict)
    #: "<template>" -> locale -> its approved WhatsApp template (see ContentTemplate).
    content: dict[str, dict[str, ContentTemplate]] = field(default_factory=dict)
    #: Example event data by event name, for validation and the simulator.
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    version: str = ""
    #: Percentage of customers (by a stable hash of scenario and customer) whose runs send
    #: nothing: the baseline the scenario's uplift is measured against.
    holdout_pct: float = 0.0
    #: With a holdout or a split, every run counts its goal for this long from its trigger,
    #: whatever its steps did (None: DEFAULT_GOAL_WINDOW_S), so every arm is measured alike.
    goal_window_s: int | None = None

    def experiments(self) -> bool:
        """Does a run of this scenario take part in a holdout or a split?"""
        return self.holdout_pct > 0 or any(s.kind == "split" for s in iter_steps(self.steps))

    def channels(self) -> set[str]:
        """Every channel a run of this scenario may send by."""
        return {
            channel
            for step in iter_steps(self.steps)
            for channel in [*step.channels, *(rung.channel for rung in step.rungs)]
        }

    def listens_to(self) -> set[str]:
        """Every event name a running run of this scenario cares about."""
        names = {self.trigger.event, *REACTION_EVENTS}
        names.update(m.event for m in self.goals + self.exits)
        stack = list(self.steps)
        while stack:
            step = stack.pop()
            names.update(m.event for m in step.events)
            if step.collect is not None:
                names.add(step.collect.event)
            stack.extend(step.branches())
        return names


def iter_steps(steps: list[Step]) -> list[Step]:
    """Every step, depth first, nested branches included."""
    out: list[Step] = []
    for step in steps:
        out.append(step)
        out.extend(iter_steps(step.branches()))
    return out

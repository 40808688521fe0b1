"""Run a scenario on Temporal's time-skipping test server and report its timeline.

The real workflow and activity code runs; only delivery goes to recording channels.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from channels.recording import RecordingChannel
from orchestrator.dev.binaries import test_server
from orchestrator.dev.sim_dates import shift, weeks_behind
from orchestrator.dev.sim_report import Simulation, deferred_offset, entry_json
from orchestrator.dev.sim_start import start_run
from orchestrator.dev.sim_times import ScriptedTimes, TimesInputError, parse_times
from orchestrator.engine.activities import Activities
from orchestrator.engine.affinity import Tally
from orchestrator.engine.contacts import Contact, InMemoryDirectory, contact_of
from orchestrator.engine.definitions import InMemoryEventData
from orchestrator.engine.ids import run_key, workflow_id
from orchestrator.engine.learning import InMemoryReactionStats, Learning
from orchestrator.engine.messages import (
    REVISION,
    EventSignal,
    RunOptions,
    TimelineEntry,
)
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.engine.timing import SendTiming
from orchestrator.engine.workflow import ScenarioWorkflow
from orchestrator.language.durations import DurationError, parse_duration
from orchestrator.language.model import CHANNELS, Scenario
from orchestrator.language.parse_base import did_you_mean_text
from orchestrator.language.samples import sample_contact

_EVENT = re.compile(
    r"^(?P<name>[a-z][a-z0-9_.]*)(?:@(?P<offset>[+]?[0-9wdhms]+))?(?::(?P<data>.*))?$", re.S
)


class SimulationInputError(ValueError):
    pass


@dataclass
class SimEvent:
    name: str
    offset_s: int = 0
    data: dict[str, Any] | None = None
    #: The data is the scenario's ``sample:`` (its timestamps follow the start, sim_dates).
    sample: bool = False


def parse_event(text: str, scenario: Scenario) -> SimEvent:
    """``NAME@OFFSET[:JSON]``: ``cart_updated``, ``order_placed@+3h``, ``x@1d2h:{"a": 1}``."""
    match = _EVENT.match(text.strip())
    if not match:
        raise SimulationInputError(
            f"--event {text!r}: write NAME@OFFSET[:JSON], e.g. order_placed@+3h or cart_updated@0"
        )
    offset = 0
    if match.group("offset") and match.group("offset").lstrip("+") != "0":
        try:
            offset = int(parse_duration(match.group("offset").lstrip("+")).total_seconds())
        except DurationError as exc:
            raise SimulationInputError(f"--event {text!r}: {exc}") from None
    data: dict[str, Any] | None = None
    if match.group("data"):
        try:
            data = json.loads(match.group("data"))
        except json.JSONDecodeError as exc:
            raise SimulationInputError(f"--event {text!r}: data is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SimulationInputError(f"--event {text!r}: data must be a JSON object")
    name = match.group("name")
    known = sorted(scenario.listens_to())
    if name not in known:
        raise SimulationInputError(
            f"no scenario uses `{name}` (not {scenario.id}'s trigger, goal, exit or wait_for)"
            + did_you_mean_text(name, known)
        )
    if data is None:
        return SimEvent(name, offset, scenario.samples.get(name, {}), sample=True)
    return SimEvent(name, offset, data)


HISTORY_HINT = (
    '--history maps channels to [sent, reacted] for the contact, e.g. {"telegram": [6, 5], '
    '"email": [9, 1]}, and optionally "shop" to the same for all customers; "reacted_at" '
    'gives local reaction times, e.g. {"reacted_at": {"email": ["Tue 19:10"]}}'
)


@dataclass(frozen=True)
class History:
    """Past messages for a simulation: the contact's, and the whole shop's (None: the
    contact's are all there is)."""

    contact: dict[str, Tally]
    shop: dict[str, Tally] | None = None

    def stats(self, contact_id: str) -> InMemoryReactionStats:
        return InMemoryReactionStats.scripted({contact_id: self.contact}, self.shop)


def parse_history(text: str) -> History:
    """``{"telegram": [6, 5], "shop": {"email": [1000, 200]}}``: past messages and reactions."""
    return parse_histories(text)[0]


def parse_histories(text: str) -> tuple[History, ScriptedTimes | None]:
    """Past messages and reactions per channel, and (``reacted_at``) when the contact and the
    shop reacted, for sends held for their best time."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SimulationInputError(f"--history is not JSON: {exc}; {HISTORY_HINT}") from None
    if not isinstance(data, dict):
        raise SimulationInputError(f"--history must be a JSON object; {HISTORY_HINT}")
    try:
        times = parse_times(data)
    except TimesInputError as exc:
        raise SimulationInputError(str(exc)) from None
    if data.get("shop") == {}:
        del data["shop"]  # it scripted reaction times only

    def tallies(found: Any, where: str) -> dict[str, Tally]:
        if not isinstance(found, dict):
            raise SimulationInputError(f"--history {where} must be an object; {HISTORY_HINT}")
        out = {}
        for channel, pair in found.items():
            ok = (
                channel in CHANNELS
                and isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
                and 0 <= pair[1] <= pair[0]
            )
            if not ok:
                raise SimulationInputError(
                    f"--history {where}{channel}: {pair!r} is not [sent, reacted] of a channel "
                    f"({', '.join(CHANNELS)}); {HISTORY_HINT}"
                )
            out[channel] = Tally(pair[0], pair[1])
        return out

    shop = tallies(data.pop("shop"), "shop.") if "shop" in data else None
    return History(tallies(data, ""), shop), times


def quiet_runtime() -> Runtime:
    """The SDK core logs to stdout; the simulator's stdout is its timeline (or JSON).

    Installed as the process default: a second Runtime's threads outliving the interpreter
    crashed it at exit (PyGILState_Release during finalisation)."""
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                )
            )
        )
        Runtime.set_default(_RUNTIME, error_if_already_set=False)
    return _RUNTIME


_RUNTIME: Runtime | None = None


def default_contact(scenario: Scenario | None = None) -> Contact:
    """The documented sample contact, with the scenario's ``sample: {contact: ...}`` on top."""
    return contact_of(sample_contact(scenario.samples if scenario else {}), "sample: contact")


async def simulate(
    scenario: Scenario,
    events: list[SimEvent],
    *,
    contact: Contact | None = None,
    env: WorkflowEnvironment | None = None,
    start_at: datetime | None = None,
    history: History | None = None,
    revision: int = REVISION,
    times: ScriptedTimes | None = None,
) -> Simulation:
    """Run the scenario against ``events`` (the first is the trigger, at offset 0);
    ``history`` scripts past reactions for learned ladders and costed rungs, ``times`` when
    they came (sends held for their best time). ``revision``: the engine revision the run
    starts with (production's, unless an older one is asked for)."""
    if not events:
        trigger = scenario.samples.get(scenario.trigger.event)
        events = [SimEvent(scenario.trigger.event, 0, trigger, sample=True)]
    if events[0].offset_s:
        raise SimulationInputError("the first --event is the trigger and happens at offset 0")
    contact = contact or default_contact(scenario)
    if env is None:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server(), runtime=quiet_runtime()
        ) as own:
            return await _simulate(
                own, scenario, events, contact, start_at, history, revision, times
            )
    return await _simulate(env, scenario, events, contact, start_at, history, revision, times)


async def _simulate(
    env: WorkflowEnvironment,
    scenario: Scenario,
    events: list[SimEvent],
    contact: Contact,
    start_at: datetime | None,
    history: History | None = None,
    revision: int = REVISION,
    times: ScriptedTimes | None = None,
) -> Simulation:
    stored = InMemoryEventData()
    activities = Activities(
        directory=InMemoryDirectory([contact]),
        send_log=InMemorySendLog(),
        channels={c: RecordingChannel(c) for c in CHANNELS},
        events=stored,
    )
    stats = history.stats(contact.id) if history is not None else None
    learning = Learning.beside(activities, stats=stats)
    timing = None
    if times is not None:  # placed before the start, in the contact's zone
        anchor = start_at or await env.get_current_time()
        scripted = times.reactions(anchor, contact.id, contact.timezone or "UTC")
        timing = SendTiming.beside(activities, times=scripted)
    queue = f"simulate-{uuid.uuid4()}"
    trigger = events[0]
    key = run_key(scenario, contact.id, trigger.data or {})
    # A unique suffix keeps repeated simulations in one test server apart.
    wid = f"{workflow_id(scenario.id, key)}#{uuid.uuid4().hex[:6]}"
    async with build_worker(
        env.client,
        task_queue=queue,
        activities=activities,
        learning=learning,
        timing=timing,
        fail_fast=True,
    ):
        if start_at is not None:
            clock = await env.get_current_time()
            ahead = (start_at - clock).total_seconds()
            if ahead < -60:
                # The test server's clock only moves forward: refuse rather than start now.
                raise SimulationInputError(
                    f"--start {start_at.isoformat()} is in the past; the simulator can only "
                    f"move forward from now ({clock.isoformat(timespec='minutes')}): give a "
                    "later moment, e.g. the same time of day next week"
                )
            if ahead > 0:
                await env.sleep(ahead)
        started = await env.get_current_time()
        samples = [e.data for e in events if e.sample and e.data]
        moved = weeks_behind(samples, started)
        events = [
            replace(e, data=shift(e.data, moved)) if e.sample and e.data else e for e in events
        ]
        trigger = events[0]
        options = RunOptions(index=False, preview=True, revision=revision)
        first = _signal(trigger, contact.id, 0, stored if revision >= 1 else None)
        handle = await start_run(env, scenario, key, first, wid, queue, options)
        late: list[dict[str, Any]] = []
        for i, ev in enumerate(events[1:], start=1):
            now = (await env.get_current_time() - started).total_seconds()
            if ev.offset_s > now:
                await env.sleep(ev.offset_s - now)
            try:
                await handle.signal(
                    "event", _signal(ev, contact.id, i, stored if revision >= 1 else None)
                )
            except RPCError:
                late.append(
                    entry_json(
                        TimelineEntry(
                            at="", kind="event", event=ev.name, reason="after the run ended"
                        ),
                        ev.offset_s,
                    )
                )
        state = await asyncio.wait_for(handle.result(), timeout=120)
        if revision >= 1:
            # A revision-1 result leaves the sends out of its timeline; the state query (the
            # worker replays the closed run) has the whole timeline.
            state = await handle.query(ScenarioWorkflow.state)
    timeline = [
        entry_json(e, (datetime.fromisoformat(e.at) - started).total_seconds())
        for e in state.timeline
    ]
    for entry in timeline:
        if entry.pop("deferred_from"):
            entry["deferred_from_s"] = deferred_offset(state.timeline, entry, started)
    timeline += late
    return Simulation(
        scenario.id,
        scenario.version,
        state.outcome,
        timeline,
        state.customer_id,
        state.run_key,
        started_at=started.isoformat(),
        timezone=contact.timezone or "UTC",
        sample_weeks=moved,
    )


def _signal(
    ev: SimEvent, customer_id: str, n: int, stored: InMemoryEventData | None = None
) -> EventSignal:
    """The n-th event; with ``stored``, kept there first as the API keeps it."""
    event_id = f"sim-{n}"
    if stored is not None:
        stored.keep(event_id, ev.data or {})
    return EventSignal(
        name=ev.name,
        event_id=event_id,
        customer_id=customer_id,
        data=ev.data or {},
        stored=stored is not None,
    )

"""``at: best_time`` on the time-skipping server: customers in many zones (DST, no zone, the
shop's default) sharing one cart id, each held for their own best hour; a goal during the hold;
a reaction ending a ladder's held rung; first_of held once; a split with and without it; the
recorded history replays."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from best_time_cases import (
    TEMPLATES,
    H,
    align,
    contact,
    habit,
    next_change,
    next_local,
    scenario,
    shop_habits,
)
from harness import Run, write_scenario
from learning_harness import Fleet
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench.actions import billable_actions, history_bytes
from orchestrator.engine.experiments import variant
from orchestrator.engine.messages import RunState
from orchestrator.engine.runtime import PASSTHROUGH
from orchestrator.engine.send_time import Reaction
from orchestrator.engine.timing import InMemoryReactionTimes
from orchestrator.engine.workflow import ScenarioWorkflow

CART = {"cart": {"id": "c-1", "total": 42}}


def decisions(state: RunState) -> list[str]:
    return [e.reason for e in state.timeline if e.kind == "decision"]


def minute(moment: datetime) -> datetime:
    """To the minute: a timer fires a few milliseconds after its moment."""
    return moment.replace(second=0, microsecond=0)


def sent_at(fleet: Fleet, customer: str) -> list[tuple[str, datetime]]:
    """(channel, minute) of every message the customer received, in order."""
    delivered = {m.key for box in fleet.providers.values() for m in box.sent}
    return sorted(
        (
            (e.channel, minute(e.at))
            for e in fleet.send_log.entries.values()
            if e.customer_id == customer and e.status == "sent" and e.key in delivered
        ),
        key=lambda x: x[1],
    )


async def test_customers_in_many_zones_each_get_their_own_hour(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)  # 02:30 UTC: no customer's best hour is under way
    times = InMemoryReactionTimes(
        {
            # 4 of 5 opens at 19h Berlin (one at 09h): 19:00 Berlin.
            "berlin": habit("Europe/Berlin", 19, 4, start) + habit("Europe/Berlin", 9, 1, start),
            # Clicks at 08h New York, the hour after their quiet hours end.
            "new-york": habit("America/New_York", 8, 3, start, kind="clicked"),
            # 22h is inside the quiet hours (22:00-07:00): the hour before, 21h.
            "night-owl": habit("Europe/Berlin", 22, 5, start),
            # No zone: the shop's (Europe/Berlin here); opens at 20h Berlin.
            "no-zone": habit("Europe/Berlin", 20, 3, start),
            # Tokyo has no history of its own: the shop's best hour (15h), in Tokyo.
        },
        shop=shop_habits(start, 15, ["Asia/Tokyo", "America/Sao_Paulo", "Europe/London"]),
    )
    zones = {
        "berlin": "Europe/Berlin",
        "new-york": "America/New_York",
        "night-owl": "Europe/Berlin",
        "no-zone": None,
        "tokyo": "Asia/Tokyo",
    }
    fleet = Fleet(
        time_env,
        scenario(tmp_path),
        [contact(c, tz) for c, tz in zones.items()],
        times=times,
        default_timezone="Europe/Berlin",
    )
    async with fleet:
        for c in zones:  # one cart id for all: keys shared between customers
            await fleet.start(c, CART)
        await fleet.at(10 * 60)
        live = await fleet.handles["berlin"].query(ScenarioWorkflow.state)
        meta = await fleet.handles["berlin"].query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata
        )
        states = await fleet.results()
    expected = {
        "berlin": next_local(start, "Europe/Berlin", 19),
        "new-york": next_local(start, "America/New_York", 8),
        "night-owl": next_local(start, "Europe/Berlin", 21),
        "no-zone": next_local(start, "Europe/Berlin", 20),
        "tokyo": next_local(start, "Asia/Tokyo", 15),
    }
    for customer, moment in expected.items():
        assert sent_at(fleet, customer) == [("email", moment)], customer
        assert states[customer].outcome == "completed"
    day = expected["berlin"].astimezone(ZoneInfo("Europe/Berlin")).strftime("%a")
    assert decisions(states["berlin"]) == [
        f"holding for {day} 19:00 local: 4 of 5 past opens 19–21h"
    ]
    assert decisions(states["new-york"])[0].endswith(": 3 of 3 past clicks 8–10h")
    assert decisions(states["night-owl"])[0].endswith(": 5 of 5 past opens 21–23h")
    tokyo = decisions(states["tokyo"])[0]
    # A zone: 20 + 3 at 15h, 3 each at 16h and 17h (29 of 62); three zones: 87 of 186.
    assert tokyo.endswith("no reactions of their own yet; shop-wide 87 of 186 opens 15–17h")
    # While held, the state shows the decision and when the run wakes; the Temporal UI's
    # current details say what it holds for and why.
    assert live.next_wakeup == expected["berlin"].isoformat()
    assert meta.current_details.startswith(
        f"holding email for {day} 19:00 local: 4 of 5 past opens 19–21h · "
    ), meta.current_details
    assert decisions(live) == decisions(states["berlin"])
    # The held sends are recorded for the console's chart, with their local hour.
    hours = {r.customer_id: (r.local_hour, r.source) for r in times.records}
    assert hours == {
        "berlin": (19, "own"),
        "new-york": (8, "own"),
        "night-owl": (21, "own"),
        "no-zone": (20, "own"),
        "tokyo": (15, "shop"),
    }


async def test_a_goal_during_the_hold_ends_the_run_unsent(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)
    history = {c: habit("Europe/Berlin", 19, 4, start) for c in ("buyer", "waiter")}
    fleet = Fleet(
        time_env,
        scenario(tmp_path),
        [contact("buyer", "Europe/Berlin"), contact("waiter", "Europe/Berlin")],
        times=InMemoryReactionTimes(history),
    )
    async with fleet:
        await fleet.start("buyer", CART)
        await fleet.start("waiter", CART)
        await fleet.at(3 * H)
        # The waiter's order is for another cart: their goal does not hold.
        await fleet.signal("waiter", "order_placed", {"order": {"cart_id": "c-2"}})
        await fleet.signal("buyer", "order_placed", {"order": {"cart_id": "c-1"}})
        states = await fleet.results()
    assert states["buyer"].outcome == "converted"
    assert sent_at(fleet, "buyer") == []
    stopped = [e for e in fleet.send_log.entries.values() if e.customer_id == "buyer"]
    assert [(e.status, e.reason) for e in stopped] == [("skipped", "stopped_by_goal")]
    assert [m.reason for m in states["buyer"].messages] == ["stopped_by_goal"]
    assert sent_at(fleet, "waiter") == [("email", next_local(start, "Europe/Berlin", 19))]
    assert states["waiter"].outcome == "completed"


LADDER = """
  - escalate:
      - email: cart/reminder
        wait: 2h
      - sms: cart/reminder
        at: best_time
        within: 1d
"""


async def test_a_reaction_during_a_held_rung_ends_the_ladder(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)
    # Both read messages at 20h New York; the SMS rung waits for it after the email's 2h.
    history = {c: habit("America/New_York", 20, 3, start) for c in ("reader", "silent")}
    fleet = Fleet(
        time_env,
        scenario(tmp_path, LADDER),
        [contact("reader", "America/New_York"), contact("silent", "America/New_York")],
        times=InMemoryReactionTimes(history),
    )
    async with fleet:
        await fleet.start("reader", CART)
        await fleet.start("silent", CART)
        await fleet.at(5 * H)  # both held for the SMS now
        await fleet.signal("reader", "message_opened")
        states = await fleet.results()
    assert [c for c, _ in sent_at(fleet, "reader")] == ["email"]
    assert states["reader"].outcome == "reacted"
    sms = next_local(start + timedelta(hours=2), "America/New_York", 20)
    assert sent_at(fleet, "silent") == [("email", start), ("sms", sms)]
    assert decisions(states["silent"])[0].endswith(": 3 of 3 past opens (on other channels) 20–22h")


async def test_first_of_is_held_once_then_tries_its_channels(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)
    steps = """
  - send: {first_of: [telegram, email], template: cart/reminder}
    at: best_time
"""
    times = InMemoryReactionTimes({"no-chat": habit("Europe/Paris", 18, 4, start)})
    no_chat = contact("no-chat", "Europe/Paris", telegram_chat_id=None)
    async with Fleet(time_env, scenario(tmp_path, steps), [no_chat], times=times) as fleet:
        await fleet.start("no-chat", CART)
        state = (await fleet.results())["no-chat"]
    moment = next_local(start, "Europe/Paris", 18)
    assert sent_at(fleet, "no-chat") == [("email", moment)]
    assert len(decisions(state)) == 1 and len(times.records) == 1
    skipped = [
        (m.channel, m.reason, minute(datetime.fromisoformat(m.at)))
        for m in state.messages
        if m.kind == "skip"
    ]
    assert skipped == [("telegram", "no_address: no telegram address on file", moment)]


async def test_nothing_to_learn_from_uses_the_fallback_time_in_each_zone(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)
    steps = """
  - send: {email: cart/reminder}
    at: best_time
    fallback: "10:00"
  - send: {sms: cart/reminder}
    at: best_time
"""
    zones = {"kolkata": "Asia/Kolkata", "la": "America/Los_Angeles", "none": None}
    fleet = Fleet(
        time_env,
        scenario(tmp_path, steps),
        [contact(c, tz) for c, tz in zones.items()],
        times=InMemoryReactionTimes(),
        default_timezone="Australia/Sydney",
    )
    async with fleet:
        for c in zones:
            await fleet.start(c, CART)
        states = await fleet.results()
    for c, tz in zones.items():
        ten = next_local(start, tz or "Australia/Sydney", 10)
        # The SMS: nothing to learn from either, and its fallback is now.
        assert sent_at(fleet, c) == [("email", ten), ("sms", ten)], c
        assert decisions(states[c])[0].endswith(": fallback 10:00 local")
        assert decisions(states[c])[1] == (
            "at once: nothing to learn from yet (no reactions, theirs or the shop's): fallback now"
        )


async def test_the_hold_crosses_a_dst_change_at_the_same_local_hour(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    now = await time_env.get_current_time()
    change = next_change(now, "Europe/Berlin")
    # Start 4h before Berlin changes its clocks (quiet hours: the next 19h is after it); the
    # customer reads at 19h local on days both before and after the previous change (their
    # UTC hours differ, their local hour not).
    await time_env.sleep((change - timedelta(hours=4) - now).total_seconds())
    start = await time_env.get_current_time()
    before = habit("Europe/Berlin", 19, 3, change - timedelta(days=180))
    after = habit("Europe/Berlin", 19, 3, start)
    assert {r.at.hour for r in before} != {r.at.hour for r in after}  # 17 vs 18 UTC
    times = InMemoryReactionTimes({"dst": before + after})
    async with Fleet(
        time_env, scenario(tmp_path), [contact("dst", "Europe/Berlin")], times=times
    ) as fleet:
        await fleet.start("dst", CART)
        await fleet.results()
    [(_, moment)] = sent_at(fleet, "dst")
    local = moment.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (19, 0) and moment > change


async def test_a_split_compares_best_time_with_at_once_and_replays(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)
    steps = """
  - split:
      at_once:
        - send: {email: cart/reminder}
      best_time:
        - send: {email: cart/reminder}
          at: best_time
"""
    s = scenario(tmp_path, steps)
    customers = [f"ab-{i}" for i in range(6)]
    arms = {c: variant("cart", "steps.1", c, ["at_once", "best_time"]) for c in customers}
    assert set(arms.values()) == {"at_once", "best_time"}
    times = InMemoryReactionTimes({c: habit("Europe/Madrid", 18, 4, start) for c in customers})
    fleet = Fleet(time_env, s, [contact(c, "Europe/Madrid") for c in customers], times=times)
    async with fleet:
        for c in customers:
            await fleet.start(c, CART)
        states = await fleet.results()
        held = next(c for c in customers if arms[c] == "best_time")
        recorded = await fleet.handles[held].fetch_history()
    six = next_local(start, "Europe/Madrid", 18)
    seven = next_local(start, "Europe/Madrid", 7)  # at once is 03:30: held for quiet hours
    for c in customers:
        moment = six if arms[c] == "best_time" else seven
        assert sent_at(fleet, c) == [("email", moment)], c
        reasons = decisions(states[c])
        assert reasons[0] == f"variant {arms[c]} at steps.1"
        assert len(reasons) == (2 if arms[c] == "best_time" else 1)
    assert {r.experiment for r in fleet.arms.rows} == {"steps.1"}
    replayer = Replayer(
        workflows=[ScenarioWorkflow],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
    )
    again = WorkflowHistory.from_json(recorded.workflow_id, recorded.to_json())
    result = await replayer.replay_workflow(again, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_customer_whose_best_hour_is_now_gets_it_at_once(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    start = await align(time_env)  # 02:30 UTC: 11:30 in Tokyo
    own: list[Reaction] = habit("Asia/Tokyo", 11, 5, start)
    times = InMemoryReactionTimes({"now": own})
    async with Fleet(
        time_env, scenario(tmp_path), [contact("now", "Asia/Tokyo")], times=times
    ) as fleet:
        await fleet.start("now", CART)
        state = (await fleet.results())["now"]
    assert sent_at(fleet, "now") == [("email", start)]
    assert decisions(state) == [
        "at once: no hour in the next 1d clearly better: 5 of 5 past opens 11–13h"
    ]
    assert times.records == []  # nothing held: nothing for the console's chart


async def test_what_a_held_send_adds_to_a_run(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The decision is one local activity (a marker: one action, none if its workflow task
    already holds one) and the hold one timer (one action); at once, no timer. Runs started
    as production starts them (engine revision 1). The figures docs/scaling.md quotes."""
    text = (
        "scenario: cart\ntrigger: {event: cart_updated}\nsteps:\n  - send: {email: cart/reminder}\n"
    )
    text += "{held}sample:\n  cart_updated: {cart: {id: c-1}}\n"
    histories = {}
    for name, later, held in (("late", 12, True), ("now", 0, True), ("plain", 0, False)):
        start = await align(time_env)  # each run at 02:30 UTC: its habit now or 12 h later
        hour = (start.astimezone(ZoneInfo("Europe/Berlin")).hour + later) % 24
        (tmp_path / name).mkdir()
        s = write_scenario(
            tmp_path / name,
            text.replace("{held}", "    at: best_time\n" if held else ""),
            TEMPLATES,
        )
        times = InMemoryReactionTimes({name: habit("Europe/Berlin", hour, 5, start)})
        async with Run(time_env, s, contact(name, "Europe/Berlin"), times=times) as run:
            await run.start(CART)
            assert run.handle is not None
            await run.handle.result()
            histories[name] = (await run.handle.fetch_history()).events
    actions = {c: billable_actions(events) for c, events in histories.items()}
    size = {c: history_bytes(events) for c, events in histories.items()}
    assert actions["late"].total - actions["plain"].total == 2
    assert actions["late"].by_kind["timer"] == 1 and actions["late"].by_kind["markers"] == 1
    assert actions["now"].total - actions["plain"].total == 1  # decided at once: no timer
    print(
        f"\nheld: +{actions['late'].total - actions['plain'].total} actions, "
        f"+{size['late'] - size['plain']} B, +{len(histories['late']) - len(histories['plain'])}"
        f" events; at once: +{actions['now'].total - actions['plain'].total} action, "
        f"+{size['now'] - size['plain']} B (plain run: {actions['plain'].total} actions, "
        f"{size['plain']} B)"
    )

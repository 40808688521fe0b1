"""``omni simulate`` with ``at: best_time``: scripted reaction times (``--history
'{"reacted_at": …}'``) show the decision in the contact's zone; the split example compares it
with sending at once; a bad script is refused with a hint."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from omni_command import ROOT, omni
from temporalio.testing import WorkflowEnvironment

from orchestrator.dev.simulator import SimEvent, parse_histories, simulate
from orchestrator.engine.contacts import Contact
from orchestrator.engine.experiments import variant
from orchestrator.language.loader import load_or_raise

EXAMPLE = ROOT / "docs" / "examples" / "best_time_cart.yaml"
HISTORY = {
    "reacted_at": {"email": ["Tue 19:10", "Wed 19:40", "Thu 18:55", "Fri 19:20", "Sat 09:05"]},
    "shop": {"reacted_at": {"email": ["Mon 12:00", "Tue 12:30"]}},
}


def customer(arm: str) -> str:
    return next(
        f"sim-{i}"
        for i in range(100)
        if variant("best_time_cart", "steps.2", f"sim-{i}", ["at_once", "best_time"]) == arm
    )


async def test_the_simulator_holds_for_the_scripted_hour_in_the_contacts_zone(
    time_env: WorkflowEnvironment,
) -> None:
    scenario = load_or_raise([EXAMPLE], ROOT / "templates")["best_time_cart"]
    stats, times = parse_histories(json.dumps(HISTORY))
    now = await time_env.get_current_time()
    # Next Monday 05:00 UTC (06:00 in Berlin in winter, 07:00 in summer).
    start = (now + timedelta(days=7 - now.weekday())).replace(
        hour=5, minute=0, second=0, microsecond=0
    )
    contact = {"email": "a@example.com", "consents": {"email": True}}
    result = await simulate(
        scenario,
        [SimEvent("cart_updated", 0, scenario.samples["cart_updated"])],
        contact=Contact.model_validate(
            {"id": customer("best_time"), "timezone": "Europe/Berlin", **contact}
        ),
        env=time_env,
        start_at=start,
        history=stats,
        times=times,
    )
    text = result.to_text()
    # 19:10, 19:40, 18:55, 19:20 and 09:05: from 18:00 on the three hours hold four of them.
    assert "holding for Mon 18:00 local: 4 of 5 past opens 18–20h" in text, text
    [send] = [e for e in result.timeline if e["kind"] == "send"]
    sent = datetime.fromisoformat(result.started_at) + timedelta(seconds=send["offset_s"])
    local = sent.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.strftime("%a"), local.hour, local.minute) == ("Mon", 18, 0)


def test_the_cli_shows_both_variants_and_refuses_a_bad_script() -> None:
    for arm in ("at_once", "best_time"):
        contact = json.dumps(
            {"id": customer(arm), "email": "a@example.com", "consents": {"email": True}}
        )
        done = omni(
            "simulate",
            str(EXAMPLE),
            "--json",
            "--contact",
            contact,
            "--history",
            json.dumps(HISTORY),
        )
        assert done.returncode == 0, done.stderr
        reasons = [e["reason"] for e in json.loads(done.stdout)["timeline"]]
        assert f"variant {arm} at steps.2" in reasons
        assert any(r.startswith("holding for") for r in reasons) == (arm == "best_time")
    bad = omni("simulate", str(EXAMPLE), "--history", '{"reacted_at": {"email": ["19:10"]}}')
    assert bad.returncode == 2
    assert "'19:10' is not a weekday and time such as 'Tue 19:10'" in bad.stderr

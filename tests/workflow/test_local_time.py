"""Issue 11: a run waits until 10:00 on the customer's birthday in the customer's own zone."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from harness import FULL_CONTACT, Run, write_scenario
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.contacts import Contact

SCENARIO = """
scenario: birthday
trigger: {event: birthday_check}
steps:
  - wait_until: {time: "10:00", date: contact.attributes.birthday}
  - send: {email: bday/coupon}
  - wait_until: {time: "09:00"}
  - send: {email: bday/coupon}
sample:
  birthday_check: {}
  contact: {attributes: {birthday: "1990-05-17"}}
"""
TEMPLATES = {
    "bday/coupon/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}"
}


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin"])
async def test_birthday_coupon_at_ten_local_then_next_nine_local(
    time_env: WorkflowEnvironment, tmp_path: Path, tz: str
) -> None:
    now = await time_env.get_current_time()
    zone = ZoneInfo(tz)
    birthday = (now.astimezone(zone) + timedelta(days=3)).date()
    contact = Contact.model_validate(
        {
            **FULL_CONTACT,
            "timezone": tz,
            "attributes": {"birthday": birthday.replace(year=1990).isoformat()},
        }
    )
    async with Run(time_env, write_scenario(tmp_path, SCENARIO, TEMPLATES), contact) as run:
        await run.start({})
        state = await run.result()
    sends = [
        datetime.fromisoformat(m.at).astimezone(zone).replace(microsecond=0) for m in state.messages
    ]
    assert [m.status for m in state.messages] == ["sent", "sent"]
    assert sends[0].date() == birthday and sends[0].time() == time(10, 0)
    assert sends[1].date() == birthday + timedelta(days=1) and sends[1].time() == time(9, 0)


async def test_simulate_uses_the_scenarios_sample_contact(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from orchestrator.dev.simulator import simulate

    text = SCENARIO.replace(
        'contact: {attributes: {birthday: "1990-05-17"}}',
        'contact: {attributes: {birthday: "1990-05-17"}, timezone: Asia/Tokyo}',
    )
    result = await simulate(write_scenario(tmp_path, text, TEMPLATES), [], env=time_env)
    assert result.timezone == "Asia/Tokyo"
    sends = [e for e in result.timeline if e["kind"] == "send"]
    first = result.local(sends[0]["offset_s"])
    assert " 17 May 10:00 JST" in first, result.to_text()


VISIT = """
scenario: visit_reminder
trigger: {event: visit_booked}
steps:
  - wait_until: {time: "10:00", date: visit.day}
  - send: {email: visit/reminder}
sample:
  visit_booked: {visit: {day: "2027-03-28T12:00:00Z"}}
"""
VISIT_TEMPLATES = {
    "visit/reminder/email": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}"
}


async def test_local_times_of_customers_without_a_zone_are_in_the_shops_default_zone(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """OMNI_DEFAULT_TIMEZONE=Europe/Berlin; the day is Berlin's spring-forward Sunday (CEST,
    UTC+2, from 02:00): 10:00 for a customer without a zone is 08:00 UTC, never 10:00 UTC."""
    scenario = write_scenario(tmp_path, VISIT, VISIT_TEMPLATES)
    day = spring_forward_after(await time_env.get_current_time())  # the session's clock moves
    zones = {"lt-none": None, "lt-ny": "America/New_York", "lt-utc": "UTC"}
    runs = [
        Run(
            time_env,
            scenario,
            Contact.model_validate({**FULL_CONTACT, "id": customer, "timezone": tz}),
            default_timezone="Europe/Berlin",
        )
        for customer, tz in zones.items()
    ]
    async with AsyncExitStack() as stack:
        for run in runs:
            await stack.enter_async_context(run)
            await run.start({"visit": {"day": f"{day.isoformat()}T12:00:00Z"}})
        states = [await run.result() for run in runs]
    sent = {
        run.contact.id: datetime.fromisoformat(state.messages[0].at).astimezone(UTC)
        for run, state in zip(runs, states, strict=True)
    }
    assert [s.messages[0].status for s in states] == ["sent"] * 3
    at = {c: moment.replace(microsecond=0) for c, moment in sent.items()}
    assert at["lt-none"] == datetime.combine(day, time(8, 0), UTC)  # 10:00 CEST
    assert at["lt-ny"] == datetime.combine(day, time(14, 0), UTC)  # 10:00 EDT
    assert at["lt-utc"] == datetime.combine(day, time(10, 0), UTC)


def spring_forward_after(now: datetime) -> date:
    """The next last Sunday of March (Berlin moves to CEST at 02:00) at least a day ahead."""
    year = now.year
    while True:
        day = date(year, 3, 31)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if datetime.combine(day, time(0), UTC) > now + timedelta(days=1):
            return day
        year += 1

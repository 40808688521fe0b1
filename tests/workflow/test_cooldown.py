"""Issue 11: `trigger: {per: product.id, cooldown: 7d}` — at most one run per customer and key
per week, several customers sharing the key, enforced by the finished run staying open."""

from __future__ import annotations

from pathlib import Path

from customer_shop import morning, person, shop
from harness import write_scenario
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.messages import RunState

H, D = 3600, 86400
SCENARIO = """
scenario: restock
trigger: {event: back_in_stock, per: product.id, cooldown: 7d}
steps:
  - send: {email: restock/news}
sample:
  back_in_stock: {product: {id: p-1, name: Lamp}}
"""
TEMPLATES = {
    "restock/news/email": "{% block subject %}{{ product.name }} is back{% endblock %}"
    "{% block html %}<p>{{ product.name }}</p>{% endblock %}"
}


async def test_one_run_per_customer_and_product_per_week(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, SCENARIO, TEMPLATES)
    lamp, desk = (
        {"product": {"id": "p-1", "name": "Lamp"}},
        {"product": {"id": "p-2", "name": "Desk"}},
    )
    anna, ben = person("1", "Anna"), person("2", "Ben")
    async with shop(time_env, tmp_path, [scenario], [anna, ben]) as s:
        await morning(time_env)
        (a_lamp,) = await s.event("back_in_stock", "1", lamp)
        (b_lamp,) = await s.event("back_in_stock", "2", lamp)  # same key, another customer
        await time_env.sleep(2 * H)
        assert (await s.event("back_in_stock", "1", lamp)) == [a_lamp]  # reaches the open run
        (a_desk,) = await s.event("back_in_stock", "1", desk)  # another key: its own run
        assert a_desk not in (a_lamp, b_lamp)
        await time_env.sleep(3 * D)
        await s.event("back_in_stock", "1", lamp)
        assert len(s.received("1@example.com")) == 2  # lamp once, desk once
        assert len(s.received("2@example.com")) == 1
        handle = time_env.client.get_workflow_handle(a_lamp, result_type=RunState)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        state = await handle.query("state", result_type=RunState)
        ignored = [e for e in state.timeline if e.reason.startswith("ignored: cooldown until")]
        assert len(ignored) == 2 and state.outcome == "completed"
        # A week after the first run started, the run is over and a new one may start.
        await time_env.sleep(4 * D + H)
        first = await handle.result()
        assert first.outcome == "completed"
        assert b_lamp != a_lamp
        (again,) = await s.event("back_in_stock", "1", lamp)
        assert again == a_lamp
        await time_env.sleep(60)
    lamp_mail = [m for m in s.received("1@example.com") if "Lamp" in m]
    assert len(lamp_mail) == 2  # once in the first week, once after it


async def test_without_cooldown_a_finished_run_is_closed(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    text = SCENARIO.replace(", cooldown: 7d", "")
    async with shop(
        time_env, tmp_path, [write_scenario(tmp_path, text, TEMPLATES)], [person("1", "A")]
    ) as s:
        await morning(time_env)
        (wid,) = await s.event("back_in_stock", "1", {"product": {"id": "p-1", "name": "Lamp"}})
        state = await time_env.client.get_workflow_handle(wid, result_type=RunState).result()
        assert state.outcome == "completed"
        await s.event("back_in_stock", "1", {"product": {"id": "p-1", "name": "Lamp"}})
        await time_env.sleep(60)
    assert len(s.received("1@example.com")) == 2

"""Issue 11: a goal or exit condition that cannot be evaluated on real data is loud."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from harness import Run
from ladder_cases import contact, ladder
from temporalio.testing import WorkflowEnvironment

H = 3600


async def test_goal_condition_failing_on_real_data_is_recorded_as_a_problem(
    time_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with Run(time_env, ladder(tmp_path), contact()) as run:
        await run.start()
        await run.at(30 * 60)
        # The shop sends `cartId` at top level: `order.cart_id` cannot be evaluated.
        await run.signal("order_placed", {"cartId": "c-1"})
        await run.at(45 * 60)
        await run.signal("cart_emptied")
        state = await run.result()
    problems = [e for e in state.timeline if e.kind == "problem"]
    assert len(problems) == 1, state.timeline
    assert problems[0].event == "order_placed"
    assert problems[0].reason.startswith("goal: ") and "order" in problems[0].reason
    assert state.outcome == "exited"
    assert any(
        "goal condition" in r.getMessage() and "order_placed" in r.getMessage()
        for r in caplog.records
    )


def test_simulator_text_shows_problems() -> None:
    from orchestrator.dev.sim_report import Simulation

    entry = {
        **dict.fromkeys(("channel", "template", "step", "status"), ""),
        "offset_s": 60,
        "kind": "problem",
        "reason": "goal: cannot evaluate 'order.cart_id'",
        "event": "order_placed",
    }
    text = Simulation("s", "v", "exited", [entry]).to_text()
    assert "order_placed  PROBLEM: goal: cannot evaluate 'order.cart_id'" in text

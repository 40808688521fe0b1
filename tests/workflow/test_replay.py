"""Saved histories of the shipped scenarios must replay without non-determinism errors.

A failure here means a workflow change would break runs already in flight: guard it with
workflow.patched(...) instead of editing the recorded histories.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from orchestrator.engine.runtime import PASSTHROUGH
from orchestrator.engine.workflow import ScenarioWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_every_shipped_scenario_has_a_history() -> None:
    names = {p.stem for p in HISTORIES}
    shipped = {p.stem for p in (Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml")}
    assert shipped <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=[ScenarioWorkflow],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure

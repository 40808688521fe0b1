"""Saved histories of every engine revision must replay without non-determinism errors.

``tests/histories/*.json`` are revision-0 runs (recorded through the test harness before the
router set a revision); ``tests/histories/r<N>/<scenario>__<case>.json`` are runs of revision N
started through the router as production starts them. Production may still have runs of every
revision here in flight, so all of them must replay on the current code. See
docs/operations.md, "Changing the workflow".
"""

from __future__ import annotations

import json
import re
from base64 import b64decode
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from orchestrator.engine.messages import REVISION
from orchestrator.engine.runtime import PASSTHROUGH
from orchestrator.engine.workflow import ScenarioWorkflow

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tests" / "histories"
RECORD = ".venv/bin/python tests/histories/record_router.py"
#: Revision -> its histories (revision 0: the files directly under tests/histories).
BY_REVISION: dict[int, list[Path]] = {0: sorted(HERE.glob("*.json"))}
for folder in sorted(HERE.glob("r[0-9]*")):
    BY_REVISION[int(folder.name[1:])] = sorted(folder.glob("*.json"))
HISTORIES = [(rev, p) for rev, paths in sorted(BY_REVISION.items()) for p in paths]
SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))

HOW_TO_PROCEED = f"""
This workflow change would break runs already in flight. Do not edit or re-record this
history. Keep the old behaviour for the runs that recorded it: branch on the run's engine
revision (RunOptions.revision) or on workflow.patched(...), bump REVISION in
orchestrator/engine/messages.py, and record histories of the new revision with
    {RECORD}
(docs/operations.md, "Changing the workflow")."""


def _scenario(path: Path) -> str:
    return path.stem.split("__")[0]


def _started_revision(history: WorkflowHistory) -> int:
    """The revision in the run's input (RunInput.options.revision; absent: 0)."""
    started = history.events[0].workflow_execution_started_event_attributes
    run_input = json.loads(started.input.payloads[0].data)
    return int(run_input.get("options", {}).get("revision", 0))


#: Scenarios first shipped after revision 0: no run of theirs can be of revision 0.
SINCE_REVISION_1 = {"price_drop_digest"}


def test_every_shipped_scenario_has_a_history() -> None:
    """Revision-0 runs may still be in flight: their histories stay."""
    assert set(SHIPPED) - SINCE_REVISION_1 <= {p.stem for p in BY_REVISION[0]}


def test_every_shipped_scenario_has_a_history_at_the_current_revision() -> None:
    """A new REVISION without recorded histories fails: production starts only that one."""
    recorded = {_scenario(p) for p in BY_REVISION.get(REVISION, [])}
    missing = sorted(set(SHIPPED) - recorded)
    assert not missing, (
        f"no history of revision {REVISION} (tests/histories/r{REVISION}/) for {missing}: "
        f"record them with `{RECORD}`"
    )


@pytest.mark.parametrize(
    ("revision", "path"), HISTORIES, ids=[f"r{rev}/{p.stem}" for rev, p in HISTORIES]
)
def test_history_is_of_its_revision(revision: int, path: Path) -> None:
    """A file under r<N>/ is a run that started at revision N (mislabelled files fail)."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    assert _started_revision(history) == revision, f"{path.relative_to(ROOT)}"
    if revision >= 1:
        assert re.fullmatch(r"[a-z0-9_]+__[a-z0-9_]+", path.stem), path.name


@pytest.mark.parametrize(
    ("revision", "path"), HISTORIES, ids=[f"r{rev}/{p.stem}" for rev, p in HISTORIES]
)
async def test_history_replays(revision: int, path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=[ScenarioWorkflow],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, (
        f"{path.relative_to(ROOT)} (revision {revision}) no longer replays: "
        f"{result.replay_failure}\n{HOW_TO_PROCEED}"
    )


def test_payload_encoding_is_plain_json() -> None:
    """The revision check reads the start event's input as JSON: no codec in recordings."""
    for _, path in HISTORIES:
        start = json.loads(path.read_text(encoding="utf-8"))["events"][0]
        payload = start["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
        assert b64decode(payload["metadata"]["encoding"]) == b"json/plain", path.name

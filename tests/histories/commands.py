"""Replay recorded histories and write down what the workflow did on the way: every command
(with its payloads, timeouts and summaries, local activities included, which history does not
keep), every current-details text and every workflow log line, in order; one file per history.

The replay test says a change is compatible with runs in flight. For a change meant to alter
nothing (a refactor), compare these files before and after: the same commands, byte for byte
(docs/operations.md, "Changing the workflow"):

    git archive BASE orchestrator channels | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base .venv/bin/python tests/histories/commands.py /tmp/before
    .venv/bin/python tests/histories/commands.py /tmp/after
    diff -r /tmp/before /tmp/after

Without history files named after OUT, it replays every recorded one (``tests/histories``);
histories saved from test runs (``WorkflowHandle.fetch_history``) reach more paths.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Replayer,
    UnsandboxedWorkflowRunner,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)

import orchestrator
from orchestrator.engine import send_lines
from orchestrator.engine.workflow import ScenarioWorkflow

HERE = Path(__file__).resolve().parent
LINES: list[str] = []


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        LINES.append(f"log {record.name} {record.levelname} {record.getMessage()}")


def _listen() -> None:
    """Log lines and current details too: neither is a command, both are what a run shows."""
    for name in ("omni.sends", "temporalio.workflow"):
        logger = logging.getLogger(name)
        logger.addHandler(_Lines())
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    workflow.logger.log_during_replay = True
    send_lines.workflow_log.log_during_replay = True
    shown = workflow.set_current_details

    def set_current_details(description: str) -> None:
        LINES.append("details " + json.dumps(description))
        shown(description)

    # Unsandboxed, workflow code calls the module's function: this one.
    workflow.set_current_details = set_current_details


class _Recording(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        LINES.append("activation " + ",".join(str(j.WhichOneof("variant")) for j in act.jobs))
        done = self._inner.activate(act)
        if done.HasField("failed"):
            LINES.append("failed " + json.dumps(MessageToDict(done.failed), sort_keys=True))
        for command in done.successful.commands:
            LINES.append("command " + json.dumps(MessageToDict(command), sort_keys=True))
        return done

    def get_serialization_context(self, command_info: Any) -> Any:
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._inner.get_external_store_context(command_info)

    def get_info(self) -> workflow.Info:
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()


class _Runner(WorkflowRunner):
    def __init__(self) -> None:
        self._inner = UnsandboxedWorkflowRunner()

    def prepare_workflow(self, defn: Any) -> None:
        self._inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Recording(self._inner.create_instance(det))


async def main(out: Path, paths: list[Path]) -> int:
    print(f"replaying on {Path(orchestrator.__file__).parent}", file=sys.stderr)
    _listen()
    out.mkdir(parents=True, exist_ok=True)
    replayer = Replayer(workflows=[ScenarioWorkflow], workflow_runner=_Runner())
    failed = 0
    for path in paths:
        LINES.clear()
        history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        LINES.append(f"replay failure: {result.replay_failure}")
        failed += result.replay_failure is not None
        name = f"{path.parent.name}__{path.stem}.txt"
        (out / name).write_text("\n".join(LINES) + "\n", encoding="utf-8")
    print(f"{len(paths)} histories, {failed} failed to replay → {out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    given = [Path(p) for p in sys.argv[2:]]
    recorded = sorted(HERE.glob("*.json")) + sorted(HERE.glob("r[0-9]*/*.json"))
    code = asyncio.run(main(Path(sys.argv[1]), given or recorded))
    # As orchestrator/cli.py: the SDK core's threads may abort interpreter finalisation.
    sys.stderr.flush()
    os._exit(code)

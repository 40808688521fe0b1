"""The benches' results log and report (bench/runlog.py, bench/report.py): docs/scaling.md
quotes exactly what the log holds for the commit a block names, every run and round counted,
runs with uncommitted changes never quoted; and the history split of bench/history.py adds
up. The figures themselves are printed by the benches, never asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not installed

from bench import report
from bench.actions import history_bytes
from bench.history import parts
from bench.runlog import Run, read

ROOT = Path(__file__).resolve().parents[2]


def test_docs_quote_what_the_log_holds_for_the_commit_each_block_names() -> None:
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    blocks = list(report.BLOCK.finditer(text))
    assert {m["bench"] for m in blocks} >= {"engine", "ingest", "day", "look"}
    for m in blocks:
        expected = report.render(m["bench"], m["commit"], read(m["bench"]))
        assert m["body"] == expected, (
            f"docs/scaling.md's {m['bench']} block differs from bench/results/"
            f"{m['bench']}.jsonl at {m['commit']}: run bench/report.py --docs"
        )


def line(commit: str, rounds: list[float], figure: float, dirty: bool = False) -> dict[str, Any]:
    return {
        "bench": "ingest",
        "commit": commit,
        "dirty": dirty,
        "changes": "abc" if dirty else "",
        "date": "2026-12-07T10:00:00+00:00",
        "cpus": 2,
        "load_start": [1.0, 1.0, 1.0],
        "load_end": [3.0, 2.0, 1.0],
        "args": {},
        "figures": {"api_p50_ms": figure},
        "rounds": [{"api_same_ratio": r} for r in rounds],
        "notes": {},
    }


def test_every_round_of_every_run_at_the_commit_counts_and_uncommitted_runs_are_not_quoted(
    tmp_path: Path,
) -> None:
    lines = [
        line("aaaa", [0.80, 0.95], 10.0),
        line("aaaa", [1.10], 30.0),
        line("aaaa", [0.10], 99.0, dirty=True),  # uncommitted code: reported apart, never quoted
        line("bbbb", [2.0], 1.0),
    ]
    (tmp_path / "ingest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    body = report.render("ingest", "aaaa", read("ingest", tmp_path))
    assert "2 run(s) at commit `aaaa`" in body
    assert "| API / same start request (each round) | 0.95 | 0.80–1.10 | 3 |" in body
    assert "| API latency p50 (ms) | 20 | 10–30 | 2 |" in body
    assert "load average 1.0–3.0" in body
    doc = f"x\n{report.block('ingest', 'aaaa', [])}\ny"
    rewritten = report.rewrite_docs(doc, tmp_path)
    assert "<!-- bench report: ingest @ bbbb -->" in rewritten  # the newest committed run
    assert len(report.by_commit(read("ingest", tmp_path))) == 3


def test_a_run_line_holds_the_commit_the_load_and_every_round(tmp_path: Path) -> None:
    run = Run("demo", {"events": 3})
    run.round({"rate": 1.23456789})
    run.round({"rate": 2.0})
    run.set(ratio=0.5)
    run.save(tmp_path)
    [saved] = read("demo", tmp_path)
    assert len(saved["commit"]) == 40 and saved["cpus"] >= 1
    assert len(saved["load_start"]) == 3 and len(saved["load_end"]) == 3
    assert saved["rounds"] == [{"rate": 1.234568}, {"rate": 2.0}]
    assert saved["figures"] == {"ratio": 0.5} and saved["args"] == {"events": 3}


def test_a_bench_that_prints_its_figures_keeps_them_even_when_it_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Run("printer", {}).recording(tmp_path):
        print("channel email adapter 512.0/s")
    with pytest.raises(RuntimeError), Run("printer", {}).recording(tmp_path):
        print("round 1: 0.93")
        raise RuntimeError("peer gone")
    first, failed = read("printer", tmp_path)
    assert first["notes"]["output"] == "channel email adapter 512.0/s\n"
    assert failed["notes"] == {"output": "round 1: 0.93\n", "error": "RuntimeError: peer gone"}
    assert "round 1: 0.93" in capsys.readouterr().out  # still printed


def test_history_parts_add_up_to_the_history() -> None:
    def payload(text: str) -> Payloads:
        return Payloads(
            payloads=[Payload(metadata={"encoding": b"json/plain"}, data=text.encode())]
        )

    started = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    started.workflow_execution_started_event_attributes.input.CopyFrom(payload('{"a": 1}'))
    started.user_metadata.summary.CopyFrom(Payload(data=b'"summary"'))
    signalled = HistoryEvent(
        event_id=2, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )
    signalled.workflow_execution_signaled_event_attributes.input.CopyFrom(payload('{"cart": 1}'))
    timer = HistoryEvent(event_id=3, event_type=EventType.EVENT_TYPE_TIMER_STARTED)
    timer.user_metadata.summary.CopyFrom(Payload(data=b'"wait 1h"'))
    done = HistoryEvent(event_id=4, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    done.workflow_execution_completed_event_attributes.result.CopyFrom(payload('{"ok": 1}'))
    events = [started, signalled, timer, done]
    found = parts(events)
    assert sum(found.values()) == history_bytes(events)
    assert found["start: input"] and found["start: summary and details"]
    assert found["timers: summaries"] and found["result: payload"] and found["signals: payload"]

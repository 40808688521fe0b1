"""Every send request recorded in workflow history (tests/histories: revision 0, inline, and
revision 1, by reference) still decodes into today's ``SendRequest`` and resolves into the one
shape the send activity works with (``Send``): the template's sources, the trigger's and the
latest event's data, the run and its reference, whatever the revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory

from orchestrator.engine import definitions as definitions_module
from orchestrator.engine.compact import COMPACT
from orchestrator.engine.definitions import Definitions, Templates
from orchestrator.engine.messages import SendRequest
from orchestrator.engine.resolve import Send, resolve

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").rglob("*.json"))
STORED = {"stored": "the event's data, read back by id"}


class Versions:
    """Every version holds one template per (template, channel): histories name versions of
    scenarios as they were when recorded."""

    def __init__(self, wanted: list[tuple[str, str]]) -> None:
        self.templates: Templates = {f"{t}/{c}": {"": f"{{# {t} {c} #}}"} for t, c in wanted}

    async def save(self, version: str, scenario: str, templates: Templates) -> None:
        raise AssertionError("resolving never publishes")

    async def load(self, version: str) -> Templates | None:
        return self.templates


class Events:
    async def data_of(self, event_id: str) -> dict[str, Any] | None:
        return dict(STORED)


def recorded_sends(path: Path) -> list[SendRequest]:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    sends = []
    for event in history.events:
        scheduled = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            scheduled.activity_type.name == "send"
        ):
            payloads = list(scheduled.input.payloads)
            [req] = COMPACT.payload_converter.from_payloads(payloads, [SendRequest])
            sends.append(req)
    return sends


def revision(path: Path) -> int:
    """tests/histories/*.json are revision 0, tests/histories/r<N>/*.json revision N."""
    return int(path.parent.name[1:]) if path.parent.name.startswith("r") else 0


#: Histories with at least one send (a run held out of every message has none).
WITH_SENDS = [p for p in HISTORIES if recorded_sends(p)]


def test_the_recorded_sends_cover_both_revisions() -> None:
    assert {revision(p) for p in WITH_SENDS} >= {0, 1}


@pytest.mark.parametrize("path", WITH_SENDS, ids=[f"r{revision(p)}/{p.stem}" for p in WITH_SENDS])
async def test_recorded_send_requests_decode_and_resolve_to_one_shape(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process-wide cache of versions would keep these stand-in templates for later tests.
    monkeypatch.setattr(definitions_module, "_KNOWN", {})
    requests = recorded_sends(path)
    wanted = [(r.template, r.channel) for r in requests]
    definitions = Definitions(Versions(wanted))
    for req in requests:
        send = await resolve(req, definitions, Events())
        assert isinstance(send, Send)
        assert send.sources, f"{req.key}: no template"
        if revision(path) >= 1:  # the run is read from the key, as the send log records it
            assert send.key.startswith(send.run_ref + "/"), (send.key, send.run_ref)
        else:  # carried (empty in runs recorded before sends named their run)
            assert send.run_ref == req.run_ref
        assert send.run["id"] and send.run["step"] == req.step
        if req.trigger_ref:
            assert send.trigger == STORED
        assert send.event is (send.trigger if req.event is None else req.event)

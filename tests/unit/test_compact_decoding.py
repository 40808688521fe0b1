"""Omni's payload converter decodes as Temporal's own does, with each dataclass's field types
resolved once per class (bench/engine.py --profile: resolving them again for every value was
most of a worker's Python time per run beyond the SDK's)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
from temporalio.converter import DataConverter

from orchestrator.engine.compact import COMPACT
from orchestrator.engine.definitions import steps_only
from orchestrator.engine.messages import (
    EventSignal,
    RunInput,
    RunOptions,
    RunState,
    SendRequest,
    TimelineEntry,
)
from orchestrator.language.loader import load_or_raise

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = load_or_raise([ROOT / "scenarios"], ROOT / "templates")


def payloads() -> list[tuple[type, Any]]:
    entry = TimelineEntry(at="2026-05-04T10:00:00+00:00", kind="send", channel="email")
    out: list[tuple[type, Any]] = [
        (
            RunState,
            RunState("abandoned_cart", "v1", "c-1", "k", messages=[entry], engagement={"a": True}),
        ),
        (EventSignal, EventSignal("cart_updated", "e-1", "c-1", data={"cart": {"total": 1.5}})),
    ]
    for s in SCENARIOS.values():
        run = RunInput(
            steps_only(s), "c-\u00e9\U0001f6d2", "k/1", RunOptions(send_queues={"sms": "q"})
        )
        out.append((RunInput, run))
        send = SendRequest(
            key="k",
            scenario=s.id,
            step="steps.1",
            channel="sms",
            template="t",
            customer_id="c",
            now="2026-05-04T10:00:00+00:00",
            quiet_hours=s.quiet_hours,
            frequency_caps=s.frequency_caps,
        )
        out.append((SendRequest, send))
    return out


@pytest.mark.parametrize(("kind", "value"), payloads())
def test_decodes_as_temporal_does(kind: type, value: Any) -> None:
    [payload] = COMPACT.payload_converter.to_payloads([value])
    [ours] = COMPACT.payload_converter.from_payloads([payload], [kind])
    [temporal] = DataConverter.default.payload_converter.from_payloads([payload], [kind])
    assert ours == temporal == value


def test_a_field_of_the_wrong_type_is_refused_as_temporal_refuses_it() -> None:
    [payload] = COMPACT.payload_converter.to_payloads([{"name": 5, "event_id": "e"}])
    with pytest.raises(Exception, match="Failed converting field name"):
        COMPACT.payload_converter.from_payloads([payload], [EventSignal])


def test_field_types_are_resolved_once_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    run = RunInput(steps_only(SCENARIOS["browse_followup"]), "c-1", "k")
    [payload] = COMPACT.payload_converter.to_payloads([run])
    COMPACT.payload_converter.from_payloads([payload], [RunInput])  # resolved here, once
    calls = 0
    resolve = typing.get_type_hints

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return resolve(*args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counted)
    monkeypatch.setattr("temporalio.converter._payload_converter.get_type_hints", counted)
    assert COMPACT.payload_converter.from_payloads([payload], [RunInput]) == [run]
    assert calls == 0

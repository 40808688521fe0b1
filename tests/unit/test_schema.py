"""The JSON Schema accepts every shipped scenario and rejects what the parser rejects."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from orchestrator.language.schema import scenario_schema

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft202012Validator(scenario_schema())


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_conform(path: Path) -> None:
    errors = list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert errors == []


BASE = {"scenario": "s", "trigger": "x", "steps": [{"wait": "1h"}]}


@pytest.mark.parametrize(
    "change",
    [
        {"trigers": "x"},
        {"steps": [{"send": {"fax": "a/b"}}]},
        {"steps": [{"wait": "soon"}]},
        {"steps": [{"escalate": [{"email": "a/b", "wiat": "1h"}]}]},
        {"quiet_hours": "late"},
        {"frequency_cap": "lots"},
    ],
)
def test_invalid_documents_are_rejected(change: dict[str, object]) -> None:
    assert list(VALIDATOR.iter_errors({**BASE, **change}))

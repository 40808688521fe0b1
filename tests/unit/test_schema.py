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


@pytest.mark.parametrize(
    "change",
    [
        {"trigger": {"event": "back_in_stock", "per": "product.id", "cooldown": "7d"}},
        {"steps": [{"wait_until": {"time": "10:00"}}]},
        {"steps": [{"wait_until": {"time": "09:00", "date": "webinar.starts_at", "days": -1}}]},
        {"sample": {"x": {}, "contact": {"attributes": {"birthday": "1990-05-17"}}}},
    ],
)
def test_issue_11_forms_are_accepted(change: dict[str, object]) -> None:
    assert list(VALIDATOR.iter_errors({**BASE, **change})) == []


@pytest.mark.parametrize(
    "change",
    [
        {"trigger": {"event": "x", "cooldown": "a week"}},
        {"steps": [{"wait_until": {"time": "25:00"}}]},
        {"steps": [{"wait_until": {"date": "x.at"}}]},
        {"steps": [{"wait_until": {"time": "10:00", "days": "soon"}}]},
    ],
)
def test_issue_11_mistakes_are_rejected(change: dict[str, object]) -> None:
    assert list(VALIDATOR.iter_errors({**BASE, **change}))

"""Issue 23: steps have human names — the marketer's ``name:`` or one derived from the step —
and a bad name is an error at its line and column."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from validation_cases import GOOD, check, only

from orchestrator.language.loader import load_all
from orchestrator.language.names import names_by_path, spoken_duration
from orchestrator.language.schema import scenario_schema

ROOT = Path(__file__).resolve().parents[2]
LADDER = GOOD.replace(
    "  - send: {email: t/hello}\n",
    "  - name: Reminder ladder\n"
    "    escalate:\n"
    "      - email: t/hello\n"
    "        wait: 4h\n"
    "      - sms: t/hello\n"
    "  - wait_until: trigger.cart.at - 24h\n"
    "  - wait_until: trigger.cart.at + 15m\n"
    "  - escalate:\n"
    "      - email: t/hello\n",
).replace("{cart: {id: c-1, total: 3}}", "{cart: {id: c-1, total: 3, at: 2026-12-03T17:00:00Z}}")


def names(tmp: Path, text: str) -> dict[str, str]:
    (tmp / "scenarios").mkdir(exist_ok=True)
    assert check(tmp, text) == []
    found, _ = load_all([tmp / "scenarios"], tmp / "templates")
    return names_by_path(found[0])


def test_a_named_ladder_names_its_rungs_and_other_steps_get_derived_names(
    tmp_path: Path,
) -> None:
    got = names(tmp_path, LADDER)
    assert got["steps.1"] == "Wait 1 h"
    assert got["steps.2"] == "Reminder ladder"
    assert got["steps.2.rung2"] == "Reminder ladder · 2. sms"
    assert got["steps.3"] == "Wait until 24 h before trigger.cart.at"
    assert got["steps.4"] == "Wait until 15 min after trigger.cart.at"
    assert got["steps.5.rung1"] == "Ladder · 1. email"
    assert not any("steps." in name for name in got.values())


def test_every_shipped_step_has_a_name_without_internal_paths() -> None:
    scenarios, problems = load_all([ROOT / "scenarios"], ROOT / "templates")
    assert problems == []
    for s in scenarios:
        for path, name in names_by_path(s).items():
            assert name and "steps." not in name, (s.id, path, name)


def test_spoken_durations() -> None:
    assert spoken_duration(86400) == "24 h"
    assert spoken_duration(266404) == "3 d 2 h 4 s"
    assert spoken_duration(-900) == "15 min"
    assert spoken_duration(0) == "0 s"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("''", "name must be text"),
        ("[a, b]", "name must be text, not a list"),
        ("'" + "x" * 61 + "'", "at most 60"),
        ('"two\\nlines"', "one line"),
    ],
)
def test_a_bad_name_is_an_error_at_its_value(tmp_path: Path, value: str, message: str) -> None:
    text = GOOD.replace("  - wait: 1h\n", f"  - wait: 1h\n    name: {value}\n")
    p = only(check(tmp_path, text))
    assert message in p.message, p.message
    assert (p.line, p.column) == (6, 11), str(p)


def test_the_json_schema_knows_name() -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    base = {"scenario": "s", "trigger": "x"}
    good = {**base, "steps": [{"wait": "1h", "name": "Give them an hour"}]}
    assert list(validator.iter_errors(good)) == []
    for bad in ("", "x" * 61, "a\nb", 3):
        doc = {**base, "steps": [{"wait": "1h", "name": bad}]}
        assert list(validator.iter_errors(doc)), bad

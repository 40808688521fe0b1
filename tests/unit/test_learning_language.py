"""Issue 15's keys: order, cost and value on a ladder, holdout, goal_window and split. Each
mistake names the file, line and column of the offending value, with a hint; the JSON Schema
accepts the same forms; an unchanged scenario keeps its version."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from validation_cases import OK_TEMPLATES, ROOT, check, only

from orchestrator.language.contracts import check_event, needs
from orchestrator.language.loader import load_all
from orchestrator.language.model import Scenario
from orchestrator.language.schema import scenario_schema

LADDER = """\
scenario: s
trigger: {event: cart_updated, per: cart.id}
holdout: 10%
steps:
  - escalate:
      - email: t/hello
        wait: 4h
      - sms: t/hello
        wait: 1h
    order: learned
    value: cart.total
    cost: {sms: 0.08 per segment, email: 0.001}
  - split:
      short:
        - send: {email: t/hello}
      long:
        - wait: 1h
        - send: {sms: t/hello}
sample:
  cart_updated: {cart: {id: c-1, total: 3}}
"""


def test_the_full_form_is_valid(tmp_path: Path) -> None:
    assert check(tmp_path, LADDER) == []
    scenarios, _ = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    s = scenarios[0]
    ladder, split = s.steps
    assert (s.holdout_pct, ladder.order, ladder.value) == (10.0, "learned", "cart.total")
    assert (ladder.costs["sms"].amount, ladder.costs["sms"].per) == (0.08, "segment")
    assert (ladder.costs["email"].amount, ladder.costs["email"].per) == (0.001, "message")
    assert [(v.name, [x.path for x in v.steps]) for v in split.variants] == [
        ("short", ["steps.2.short.1"]),
        ("long", ["steps.2.long.1", "steps.2.long.2"]),
    ]
    assert s.experiments()


@pytest.mark.parametrize(
    ("old", "new", "spot", "words"),
    [
        ("order: learned", "order: smart", (10, 12), "order must be one of fixed, learned"),
        ("holdout: 10%", "holdout: 150%", (3, 10), "more than 0% and less than 100%"),
        ("holdout: 10%", "holdout: 10", (3, 10), "holdout 10 is not a percentage"),
        ("0.08 per segment", "cheap", (12, 17), "cost of sms: 'cheap' is not a price"),
        ("0.08 per segment", "-1", (12, 17), "cost of sms: a price cannot be -1"),
        ("email: 0.001", "email: 1 per segment", (12, 42), "email messages have no segments"),
        ("email: 0.001", "push: 0.01", (12, 35), "cost names 'push', which is not a rung"),
        ("value: cart.total", "value: cart.totl", (11, 12), "value: cart.totl is missing"),
        ("value: cart.total", "value: cart.id", (11, 12), "value: cart.id is 'c-1', not an amount"),
        ("    value: cart.total\n", "", (11, 11), "a cost needs a value"),
        ("        wait: 1h\n    order", "    order", (8, 9), "with order: learned every rung"),
        ("      short:", "      Short:", (14, 7), "variant name 'Short' has an invalid form"),
    ],
)
def test_mistakes_name_file_line_and_column(
    tmp_path: Path, old: str, new: str, spot: tuple[int, int], words: str
) -> None:
    assert old in LADDER
    p = only(check(tmp_path, LADDER.replace(old, new, 1)))
    assert p.file.endswith("s.yaml")
    assert words in p.message, p.message
    assert (p.line, p.column) == spot, str(p)
    assert p.hint


def test_a_ladders_value_is_part_of_the_event_contract(tmp_path: Path) -> None:
    check(tmp_path, LADDER)
    s = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    contract = needs(s)
    assert check_event(contract, "cart_updated", {"cart": {"id": "c-2", "total": 5}}) == []
    assert check_event(contract, "cart_updated", {"cart": {"id": "c-2"}}) == [
        "cart.total missing, needed by s steps.1 value"
    ]


def test_a_split_needs_two_variants_and_goal_window_needs_an_experiment(tmp_path: Path) -> None:
    one = LADDER.replace("      long:\n        - wait: 1h\n        - send: {sms: t/hello}\n", "")
    p = only(check(tmp_path, one))
    assert "split needs at least two named variants" in p.message and p.line == 14
    plain = LADDER.replace("holdout: 10%", "goal_window: 3d")
    plain = plain[: plain.index("  - split:")] + plain[plain.index("sample:") :]
    p = only(check(tmp_path, plain))
    assert "goal_window applies to scenarios with a holdout or a split" in p.message
    assert (p.line, p.column) == (3, 14)


def test_templates_inside_variants_are_checked(tmp_path: Path) -> None:
    text = LADDER.replace("        - send: {sms: t/hello}", "        - send: {sms: t/missing}")
    p = only(check(tmp_path, text, OK_TEMPLATES))
    assert "t/missing/sms.j2 not found" in p.message and p.line == 18


VALIDATOR = jsonschema.Draft202012Validator(scenario_schema())


def test_the_schema_accepts_the_new_keys() -> None:
    assert list(VALIDATOR.iter_errors(yaml.safe_load(LADDER))) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("order: learned", "order: smart"),
        ("holdout: 10%", "holdout: 150%"),
        ("0.08 per segment", "cheap"),
        ("email: 0.001", "fax: 0.001"),
        ("      short:", "      Short:"),
    ],
)
def test_the_schema_rejects_what_the_parser_rejects(old: str, new: str) -> None:
    assert list(VALIDATOR.iter_errors(yaml.safe_load(LADDER.replace(old, new, 1))))


def _hash_before_issue_15(scenario: Scenario) -> str:
    """The version as computed before the new fields existed."""
    body = dataclasses.asdict(dataclasses.replace(scenario, version="", source=""))
    for key in ("holdout_pct", "goal_window_s"):
        del body[key]
    del body["trigger"]["spread_s"]  # added later still (trigger.spread)

    def strip(steps: list[dict[str, object]]) -> None:
        for step in steps:
            for key in ("order", "costs", "value", "variants", "best_time"):
                del step[key]
            for rung in step["rungs"]:  # type: ignore[attr-defined]
                del rung["best_time"]  # added by issue 26 (at: best_time)
            for nested in ("then", "otherwise", "on_event", "on_timeout"):
                strip(step[nested])  # type: ignore[arg-type]

    strip(body["steps"])
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:12]


def test_shipped_scenarios_keep_their_versions() -> None:
    scenarios, _ = load_all([ROOT / "scenarios"], ROOT / "templates")
    assert scenarios
    for s in scenarios:
        assert s.version == _hash_before_issue_15(s), s.id


def test_the_new_keys_change_the_version(tmp_path: Path) -> None:
    check(tmp_path, LADDER)
    learned = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    check(tmp_path, LADDER.replace("order: learned", "order: fixed"))
    fixed = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    assert learned.version != fixed.version

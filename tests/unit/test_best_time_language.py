"""``at: best_time``, ``within`` and ``fallback`` on a send, a first_of and a ladder rung: the
model, every mistake at its file:line:column with a hint, the JSON Schema, and versions."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from validation_cases import check, only

from orchestrator.language.loader import load_all
from orchestrator.language.schema import scenario_schema

TEMPLATES = {
    "t/hello/email.j2": "{% block subject %}Hi{% endblock %}{% block html %}x{% endblock %}",
    "t/hello/sms.j2": "{% block text %}Hi{% endblock %}",
}
HELD = """\
scenario: s
trigger: {event: cart_updated, per: cart.id}
quiet_hours: "21:00-08:00"
steps:
  - send: {email: t/hello}
    at: best_time
    within: 12h
    fallback: "10:00"
  - send: {first_of: [sms, email], template: t/hello}
    at: best_time
  - escalate:
      - email: t/hello
        wait: 4h
      - sms: t/hello
        at: best_time
        within: 2d
        fallback: now
sample:
  cart_updated: {cart: {id: c-1, total: 3}}
"""


def test_the_full_form_is_valid(tmp_path: Path) -> None:
    assert check(tmp_path, HELD, TEMPLATES) == []
    s = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    one, first_of, ladder = s.steps
    assert one.best_time is not None and (one.best_time.within_s, one.best_time.fallback) == (
        12 * 3600,
        "10:00",
    )
    assert first_of.best_time is not None and (
        first_of.best_time.within_s,
        first_of.best_time.fallback,
    ) == (24 * 3600, "now")
    assert ladder.rungs[0].best_time is None
    rung = ladder.rungs[1].best_time
    assert rung is not None and (rung.within_s, rung.fallback) == (2 * 86400, "now")


@pytest.mark.parametrize(
    ("old", "new", "spot", "words"),
    [
        (
            "    at: best_time\n    within: 12h",
            "    at: soon\n    within: 12h",
            (6, 9),
            "at must be best_time, not 'soon'",
        ),
        ("within: 12h", "within: 8d", (7, 13), "within must be from 1h to 7d, not 8d"),
        ("within: 12h", "within: 30m", (7, 13), "within must be from 1h to 7d, not 30m"),
        ("within: 12h", "within: soon", (7, 13), "within: 'soon' is not a duration"),
        (
            'fallback: "10:00"',
            "fallback: 10:00",
            (8, 15),
            "fallback 10:00 was read as the number 600",
        ),
        (
            'fallback: "10:00"',
            'fallback: "25:00"',
            (8, 15),
            "fallback must be now or a local HH:MM",
        ),
        (
            'fallback: "10:00"',
            'fallback: "22:30"',
            (8, 15),
            "fallback 22:30 is inside the quiet hours",
        ),
        ("        within: 2d\n", "", None, ""),
        (
            "        at: best_time\n        within: 2d\n        fallback: now",
            "        within: 2d",
            (15, 9),
            "within applies to a send held for its best time",
        ),
        (
            "        wait: 4h\n",
            "        wait: 4h\n        at: best_tme\n",
            (14, 13),
            "did you mean",
        ),
    ],
)
def test_mistakes_name_file_line_and_column(
    tmp_path: Path, old: str, new: str, spot: tuple[int, int] | None, words: str
) -> None:
    assert old in HELD
    problems = check(tmp_path, HELD.replace(old, new, 1), TEMPLATES)
    if not words:  # the default within
        assert problems == []
        return
    p = only(problems)
    assert p.file.endswith("s.yaml")
    assert words in p.message + p.hint, str(p)
    assert (p.line, p.column) == spot, str(p)
    assert p.hint


def test_quiet_hours_ignore_and_best_time_on_one_send(tmp_path: Path) -> None:
    text = HELD.replace(
        "    at: best_time\n    within: 12h",
        "    quiet_hours: ignore\n    at: best_time\n    within: 12h",
    )
    p = only(check(tmp_path, text, TEMPLATES))
    assert "at: best_time holds it for later" in p.message and (p.line, p.column) == (6, 18)


VALIDATOR = jsonschema.Draft202012Validator(scenario_schema())


def test_the_schema_accepts_the_keys_and_rejects_what_the_parser_rejects() -> None:
    assert list(VALIDATOR.iter_errors(yaml.safe_load(HELD))) == []
    for old, new in [
        ("at: best_time\n    within", "at: soon\n    within"),
        ('fallback: "10:00"', 'fallback: "25:00"'),
        ("within: 12h", "within: soon"),
    ]:
        assert list(VALIDATOR.iter_errors(yaml.safe_load(HELD.replace(old, new, 1)))), new


def test_the_keys_change_the_version_and_their_absence_does_not(tmp_path: Path) -> None:
    check(tmp_path, HELD, TEMPLATES)
    held = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    check(tmp_path, HELD.replace("within: 12h", "within: 13h"), TEMPLATES)
    other = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    assert held.version != other.version

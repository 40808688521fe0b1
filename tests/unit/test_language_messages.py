"""Issue 11: messages a marketer understands (time expressions, the sandbox, conditions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from validation_cases import GOOD, check, only

from orchestrator.language.expressions import (
    ExpressionError,
    condition_context,
    holds,
    resolve_time,
    split_time_expression,
)
from orchestrator.language.templates import TemplateProblem, render


def ctx(event: dict[str, object]) -> dict[str, object]:
    return condition_context(event=event, trigger=event, contact={}, engagement={})


def test_missing_timestamp_names_the_field() -> None:
    with pytest.raises(ExpressionError, match=r"webinar\.starts_at is missing in the event"):
        resolve_time("webinar.starts_at", 0, ctx({"webinar": {"id": "w"}}))
    with pytest.raises(ExpressionError, match=r"webinar\.starts_at is empty \(null\)"):
        resolve_time("webinar.starts_at", 0, ctx({"webinar": {"starts_at": None}}))
    with pytest.raises(ExpressionError, match=r"webinar\.starts_at is 'soon', not an ISO"):
        resolve_time("webinar.starts_at", 0, ctx({"webinar": {"starts_at": "soon"}}))


@pytest.mark.parametrize("text", ["webinar.starts_at - 3d", "webinar.starts_at -3d"])
def test_short_durations_with_or_without_spaces(text: str) -> None:
    assert split_time_expression(text) == ("webinar.starts_at", -3 * 86400)


@pytest.mark.parametrize(
    ("text", "short"),
    [("webinar.starts_at - 3 days", "3d"), ("x.at + 2 hours", "2h"), ("x.at - 1 week", "1w")],
)
def test_wordy_durations_are_explained(text: str, short: str) -> None:
    with pytest.raises(ExpressionError, match=f"write {short} instead of"):
        split_time_expression(text)


def test_wordy_duration_in_a_scenario_points_at_the_value(tmp_path: Path) -> None:
    text = GOOD.replace("  - wait: 1h", "  - wait_until: cart.at - 3 days").replace(
        "total: 3}", "total: 3, at: '2030-01-01T10:00:00Z'}"
    )
    p = only(check(tmp_path, text))
    assert "write 3d" in p.message and (p.line, p.column) == (5, 17)


def test_sandbox_violations_speak_plainly() -> None:
    with pytest.raises(TemplateProblem) as info:
        render("sms", "{% block text %}{{ cart.__class__ }}{% endblock %}", {"cart": {}})
    assert "templates cannot access `__class__`" in str(info.value)
    assert "unsafe" not in str(info.value) and "dict object" not in str(info.value)
    with pytest.raises(ExpressionError, match="templates cannot access `__class__`"):
        holds("cart.__class__", {"cart": {}})


def test_sandbox_violation_in_a_template_gets_no_sample_hint(tmp_path: Path) -> None:
    templates = {
        "t/hello/email.j2": "{% block subject %}{{ cart.__class__ }}{% endblock %}"
        "{% block html %}x{% endblock %}",
    }
    p = only(check(tmp_path, GOOD, templates))
    assert "cannot access `__class__`" in p.message and "sample" not in p.hint


def test_a_bare_missing_field_in_a_condition_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="paid"):
        holds("order.paid", ctx({"order": {}}))

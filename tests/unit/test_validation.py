"""One test per validation error kind: each names file, line (and column) and gives a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from validation_cases import GOOD, OK_TEMPLATES, ROOT, check, only

from orchestrator.language.loader import load_all


def test_shipped_scenarios_are_valid() -> None:
    scenarios, problems = load_all([ROOT / "scenarios"], ROOT / "templates")
    assert problems == []
    assert {s.id for s in scenarios} == {
        "abandoned_cart",
        "webinar_reminder",
        "welcome_series",
        "browse_followup",
        "price_drop_digest",
    }


def test_good_fixture_is_valid(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD) == []


def test_yaml_syntax_error(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("  - wait: 1h", "  - wait: [1h")))
    assert p.file.endswith("s.yaml") and p.line == 6
    assert "YAML syntax error" in p.message and "indentation" in p.hint


def test_duplicate_key(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD + "scenario: t\n"))
    assert (p.line, p.column) == (10, 1)
    assert "appears twice" in p.message and "last" in p.hint


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("trigger: {event:", "trigger: {evnt:")))
    assert (p.line, p.column) == (2, 11)
    assert "unknown key 'evnt'" in p.message and "did you mean 'event'?" in p.hint


def test_unknown_step_kind(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("  - wait: 1h", "  - wiat: 1h")))
    assert (p.line, p.column) == (5, 5)
    assert "did you mean 'wait'?" in p.hint


def test_wrong_type(tmp_path: Path) -> None:
    text = GOOD.replace("steps:\n  - wait: 1h\n  - send: {email: t/hello}\n", "steps: 1h\n")
    p = only(check(tmp_path, text))
    assert p.line == 4 and "non-empty list of steps" in p.message and "'- '" in p.hint


def test_bad_duration(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("wait: 1h", "wait: 1 hour")))
    assert (p.line, p.column) == (5, 11)
    assert "not a duration" in p.message and "30s, 15m, 4h" in p.hint


def test_unknown_channel(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("send: {email: t/hello}", "send: {fax: t/hello}")))
    assert p.line == 6 and "unknown key 'fax'" in p.message
    assert "email" in p.hint


def test_unknown_channel_in_first_of(tmp_path: Path) -> None:
    text = GOOD.replace(
        "send: {email: t/hello}", "send: {first_of: [emial, sms], template: t/hello}"
    )
    problems = check(tmp_path, text)
    assert any(
        "channel must be one of" in p.message and "did you mean 'email'?" in p.hint
        for p in problems
    )


def test_missing_template(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("t/hello", "t/bye")))
    assert p.line == 6 and "t/bye/email.j2 not found" in p.message
    assert p.hint.startswith("create ")


def test_locale_variant_without_default(tmp_path: Path) -> None:
    templates = {"t/hello/email.ru.j2": OK_TEMPLATES["t/hello/email.j2"]}
    p = only(check(tmp_path, GOOD, templates))
    assert p.line == 6 and "no default email.j2" in p.message and "email.ru.j2" in p.message


def test_template_syntax_error_points_at_the_template(tmp_path: Path) -> None:
    broken = {
        "t/hello/email.j2": "{% block subject %}Hi{% endblock %}\n"
        "{% block html %}\n<p>{{ cart.id }</p>\n{% endblock %}"
    }
    p = only(check(tmp_path, GOOD, broken))
    assert p.file.endswith("templates/t/hello/email.j2") and p.line == 3
    assert "syntax error" in p.message and "{{ }}" in p.hint


def test_undefined_variable_in_template(tmp_path: Path) -> None:
    typo = {
        "t/hello/email.j2": "{% block subject %}Hi{% endblock %}\n{% block html %}\n"
        "<p>{{ cart.totl }}</p>\n{% endblock %}"
    }
    p = only(check(tmp_path, GOOD, typo))
    assert p.file.endswith("email.j2") and p.line == 3
    assert "totl" in p.message and "sample" in p.hint


def test_invalid_condition_syntax(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("order.cart_id == trigger.cart.id", "order.cart_id ==")))
    assert p.line == 3 and "invalid expression" in p.message and "Jinja2" in p.hint


def test_condition_with_undefined_name(tmp_path: Path) -> None:
    p = only(
        check(
            tmp_path, GOOD.replace("order.cart_id == trigger.cart.id", "order.cart_id == cart.id")
        )
    )
    assert "'cart' is undefined" in p.message


def test_unreachable_after_stop(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("  - wait: 1h\n", "  - stop: done\n")))
    assert p.line == 6 and "can never run" in p.message and "stop" in p.hint


def test_unreachable_after_if_that_always_stops(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - wait: 1h\n", "  - if: opened\n    then: [{stop: a}]\n    else: [{stop: b}]\n"
    )
    p = only(check(tmp_path, text))
    assert p.line == 8 and "can never run" in p.message


def test_duplicate_scenario_ids(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD, extra={"t.yaml": GOOD}))
    assert p.file.endswith("t.yaml") and "already used" in p.message and "own id" in p.hint


def test_missing_trigger_sample(tmp_path: Path) -> None:
    text = GOOD.replace("  cart_updated: {cart: {id: c-1, total: 3}}\n", "")
    p = check(tmp_path, text)[0]
    assert p.line == 2 and "no sample data for the trigger" in p.message and "sample:" in p.hint


def test_wait_for_needs_a_timeout(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("  - wait: 1h", "  - wait_for: {event: order_placed}")))
    assert p.line == 5 and "needs a timeout" in p.message and "3d" in p.hint


def test_escalate_rung_needs_a_wait(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - send: {email: t/hello}", "  - escalate:\n      - email: t/hello\n      - sms: t/hello"
    )
    p = only(check(tmp_path, text))
    assert p.line == 7 and "needs a wait" in p.message and "wait: 4h" in p.hint


@pytest.mark.parametrize("window", ["21:00", "25:00-09:00", "09:00-09:00"])
def test_bad_quiet_hours(tmp_path: Path, window: str) -> None:
    p = only(check(tmp_path, GOOD + f'quiet_hours: "{window}"\n'))
    assert p.line == 10 and "HH:MM-HH:MM" in p.hint


def test_bad_frequency_cap(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD + "frequency_cap: [3 per 24h, 2 fax per 1d]\n"))
    assert (p.line, p.column) == (10, 28)
    assert "'fax' is not a channel" in p.message


def test_bad_wait_until_expression(tmp_path: Path) -> None:
    p = only(check(tmp_path, GOOD.replace("  - wait: 1h", "  - wait_until: cart.id - 1h")))
    assert p.line == 5 and "not an ISO 8601 timestamp" in p.message and "24h" in p.hint


def test_quiet_hours_ignore_only_on_a_send_that_answers_the_trigger_at_once(
    tmp_path: Path,
) -> None:
    at_once = GOOD.replace(
        "  - wait: 1h\n  - send: {email: t/hello}",
        "  - send: {email: t/hello}\n    quiet_hours: ignore\n  - wait: 1h",
    )
    assert check(tmp_path, at_once + 'quiet_hours: "22:00-08:00"\n') == []
    late = GOOD.replace("{email: t/hello}", "{email: t/hello}\n    quiet_hours: ignore")
    p = only(check(tmp_path, late))
    assert (p.line, p.column) == (7, 18), str(p)
    assert "answers the trigger at once; steps.1 (wait) comes before it" in p.message
    spread = at_once.replace("per: cart.id}", "per: cart.id, spread: 15m}")
    assert "trigger.spread delays" in only(check(tmp_path, spread)).message
    typo = at_once.replace("quiet_hours: ignore", "quiet_hours: skip")
    assert "quiet_hours must be one of apply, ignore" in only(check(tmp_path, typo)).message

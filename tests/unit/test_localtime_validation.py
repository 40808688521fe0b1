"""Issue 11: `wait_until: {time, date, days}` in scenarios, validated against the samples."""

from __future__ import annotations

from pathlib import Path

from validation_cases import GOOD, check, only

from orchestrator.language.loader import load_all


def with_wait(tmp: Path, wait: str, extra_sample: str = ""):  # type: ignore[no-untyped-def]
    text = GOOD.replace("  - wait: 1h\n", f"  - wait_until: {wait}\n") + extra_sample
    return check(tmp, text)


def test_next_local_time_is_valid(tmp_path: Path) -> None:
    assert with_wait(tmp_path, '{time: "10:00"}') == []
    scenario = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    step = scenario.steps[0]
    assert (step.kind, step.at_time, step.at, step.at_days) == ("wait_until", "10:00", None, 0)


def test_birthday_needs_the_sample_contact_to_have_it(tmp_path: Path) -> None:
    wait = '{time: "10:00", date: contact.attributes.birthday}'
    p = only(with_wait(tmp_path, wait))
    assert "contact.attributes.birthday is missing" in p.message
    assert (p.line, p.column) == (5, 39)
    sample = "  contact: {attributes: {birthday: '1990-05-17'}, timezone: America/Los_Angeles}\n"
    assert with_wait(tmp_path, wait, sample) == []


def test_day_before_a_timestamp_in_the_event(tmp_path: Path) -> None:
    wait = '{time: "09:00", date: cart.ends_at, days: -1}'
    assert "cart.ends_at is missing" in only(with_wait(tmp_path, wait)).message
    text = GOOD.replace("  - wait: 1h\n", f"  - wait_until: {wait}\n").replace(
        "total: 3}", "total: 3, ends_at: '2030-01-01T10:00:00Z'}"
    )
    assert check(tmp_path, text) == []


def test_bad_time_days_and_keys(tmp_path: Path) -> None:
    problems = with_wait(tmp_path, '{time: "25:00", days: soon, at: x}')
    messages = " | ".join(p.message for p in problems)
    assert "HH:MM" in messages and "days must be a whole number" in messages
    assert "unknown key 'at'" in messages


def test_contact_fields_in_a_time_expression(tmp_path: Path) -> None:
    wait = "contact.attributes.renews_at - 3d"
    assert "renews_at is missing" in only(with_wait(tmp_path, wait)).message
    sample = "  contact: {attributes: {renews_at: '2030-01-01T00:00:00Z'}}\n"
    assert with_wait(tmp_path, wait, sample) == []


def test_missing_contact_attribute_hints_at_the_sample_contact(tmp_path: Path) -> None:
    p = only(with_wait(tmp_path, '{time: "10:00", date: contact.attributes.birthday}'))
    assert "sample: {contact:" in p.hint

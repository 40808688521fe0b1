"""WhatsApp in the scenario language: ``whatsapp:`` in send, first_of and escalate; its
approved template (``whatsapp.yaml``) and free text (``whatsapp.j2``); validation problems with
file, line and column; the JSON Schema; and what ``omni validate`` reports."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from orchestrator.language.errors import Problem
from orchestrator.language.loader import load_all
from orchestrator.language.model import ContentTemplate
from orchestrator.language.schema import scenario_schema, whatsapp_schema
from orchestrator.language.sms_report import sms_report

SID = "HXb5b62575e6e4ff6129ad7c8efe1f983e"
SCENARIO = """\
scenario: cart
trigger: {event: cart_updated, per: cart.id}
steps:
  - send: {whatsapp: cart/reminder}
  - escalate:
      - email: cart/mail
        wait: 1h
      - whatsapp: cart/reminder
  - send: {first_of: [whatsapp, sms], template: cart/last}
sample:
  cart_updated: {cart: {id: c-1, total: 59.9, url: "https://shop.example/cart"}}
"""
CONTENT = f"""\
content_sid: {SID}
variables:
  1: contact.first_name
  2: money(cart.total)
  3: link(cart.url)
"""
FILES = {
    "cart/reminder/whatsapp.yaml": CONTENT,
    "cart/reminder/whatsapp.ru.yaml": f"content_sid: {SID.replace('b5', 'c6')}\n",
    "cart/reminder/whatsapp.j2": "{% block text %}Hi {{ contact.first_name }}{% endblock %}",
    "cart/mail/email.j2": "{% block subject %}s{% endblock %}{% block html %}h{% endblock %}",
    "cart/last/whatsapp.j2": "{% block text %}Last call: {{ link(cart.url) }}{% endblock %}",
    "cart/last/sms.j2": "{% block text %}Last call{% endblock %}",
}


GONE_J2: dict[str, str | None] = {"cart__reminder__whatsapp.j2": None}
GONE_YAML: dict[str, str | None] = {"cart__reminder__whatsapp.yaml": None}


def write(tmp: Path, scenario: str = SCENARIO, /, **files: str | None) -> None:
    (tmp / "scenarios").mkdir(exist_ok=True)
    (tmp / "scenarios" / "s.yaml").write_text(scenario, encoding="utf-8")
    for name, text in {**FILES, **{k.replace("__", "/"): v for k, v in files.items()}}.items():
        path = tmp / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")


def problems(tmp: Path, scenario: str = SCENARIO, /, **files: str | None) -> list[Problem]:
    write(tmp, scenario, **files)
    return load_all([tmp / "scenarios"], tmp / "templates")[1]


def one(tmp: Path, content: str) -> Problem:
    found = problems(tmp, **{"cart__reminder__whatsapp.yaml": content})
    assert len(found) == 1, found
    assert found[0].file.endswith("cart/reminder/whatsapp.yaml")
    return found[0]


def test_whatsapp_steps_load_with_their_approved_templates_and_free_text(tmp_path: Path) -> None:
    write(tmp_path)
    scenarios, found = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    assert found == []
    [s] = scenarios
    assert s.content["cart/reminder"][""] == ContentTemplate(
        SID, {"1": "contact.first_name", "2": "money(cart.total)", "3": "link(cart.url)"}
    )
    assert s.content["cart/reminder"]["ru"].variables == {}
    assert "cart/last" not in s.content  # free text only
    assert set(s.templates["cart/reminder/whatsapp"]) == {""}
    assert [r.channel for r in s.steps[1].rungs] == ["email", "whatsapp"]
    assert s.steps[2].channels == ["whatsapp", "sms"]


def test_an_approved_template_alone_is_enough(tmp_path: Path) -> None:
    write(tmp_path, **GONE_J2)
    scenarios, found = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    assert found == [] and "cart/reminder/whatsapp" not in scenarios[0].templates


def test_neither_file_is_an_error_at_the_reference(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        **{"cart__last__whatsapp.j2": None},
    )
    [p] = found
    assert (p.line, p.column) == (9, 49) and p.file.endswith("s.yaml")
    assert "neither whatsapp.yaml nor whatsapp.j2" in p.message
    assert "24 h" in p.hint


def test_a_bad_content_sid_points_at_its_value(tmp_path: Path) -> None:
    p = one(tmp_path, "content_sid: HX123\nvariables: {1: contact.first_name}\n")
    assert (p.line, p.column) == (1, 14)
    assert "'HX123' is not a Content SID" in p.message and "32 hex digits" in p.hint


def test_a_missing_content_sid(tmp_path: Path) -> None:
    p = one(tmp_path, "variables: {1: contact.first_name}\n")
    assert p.message == "content_sid is missing" and p.line == 1


def test_variables_must_be_numbered_one_to_n(tmp_path: Path) -> None:
    text = f"content_sid: {SID}\nvariables:\n  1: contact.first_name\n  3: cart.id\n"
    p = one(tmp_path, text)
    assert (p.line, p.column) == (4, 3)
    assert "variable '3'" in p.message and "1 to 2" in p.message and "2 missing" in p.message


def test_named_variables_are_refused(tmp_path: Path) -> None:
    p = one(tmp_path, f"content_sid: {SID}\nvariables:\n  name: contact.first_name\n")
    assert (p.line, p.column) == (3, 3) and "variable 'name'" in p.message


def test_an_undefined_variable_against_the_sample(tmp_path: Path) -> None:
    text = f"content_sid: {SID}\nvariables:\n  1: contact.first_name\n  2: cart.totl\n"
    p = one(tmp_path, text)
    assert (p.line, p.column) == (4, 6)
    assert "variable 2 (cart.totl)" in p.message and "'totl' is missing" in p.message
    assert "sample" in p.hint


def test_a_syntax_error_in_a_variable(tmp_path: Path) -> None:
    p = one(tmp_path, f"content_sid: {SID}\nvariables:\n  1: contact.first_name +\n")
    assert (p.line, p.column) == (3, 6) and "invalid expression" in p.message


def test_a_mapping_is_not_one_value(tmp_path: Path) -> None:
    p = one(tmp_path, f"content_sid: {SID}\nvariables:\n  1: cart\n")
    assert "is a mapping, not one value" in p.message and p.line == 3


def test_an_unknown_key_with_a_suggestion(tmp_path: Path) -> None:
    p = one(tmp_path, f"content_sid: {SID}\nvariabels: {{1: cart.id}}\n")
    assert (p.line, p.column) == (2, 1) and "did you mean 'variables'" in p.hint


def test_an_empty_variable(tmp_path: Path) -> None:
    p = one(tmp_path, f"content_sid: {SID}\nvariables:\n  1:\n")
    assert "variable 1 is nothing" in p.message and "expression" in p.hint


def test_locale_variants_need_a_default(tmp_path: Path) -> None:
    found = problems(tmp_path, **GONE_YAML)
    assert [p.message for p in found] == [
        "template cart/reminder has WhatsApp locale variants (whatsapp.ru.yaml) but no "
        "default whatsapp.yaml to fall back to"
    ] * 2  # referenced twice: by the send and by the rung
    assert [(p.line, p.column) for p in found] == [(4, 22), (8, 19)]


def test_free_text_is_checked_like_any_template(tmp_path: Path) -> None:
    found = problems(
        tmp_path, **{"cart__last__whatsapp.j2": "{% block text %}{{ cart.nope }}{% endblock %}"}
    )
    [p] = found
    assert p.file.endswith("cart/last/whatsapp.j2") and "nope" in p.message


def test_the_schema_knows_whatsapp_and_its_template_file(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    assert list(validator.iter_errors(yaml.safe_load(SCENARIO))) == []
    content = jsonschema.Draft202012Validator(whatsapp_schema())
    good = yaml.safe_load(CONTENT)
    assert list(content.iter_errors(json.loads(json.dumps(good)))) == []
    bad: dict[str, Any]
    for bad in (
        {"content_sid": "HX1"},
        {"content_sid": SID, "variables": {"one": "x"}},
        {"content_sid": SID, "variables": {"1": 2}},
        {"content_sid": SID, "other": 1},
        {"variables": {}},
    ):
        assert list(content.iter_errors(bad)), bad
    assert scenario_schema()["$defs"]["whatsapp_content"]["required"] == ["content_sid"]


def test_validate_reports_which_whatsapp_message_goes_when(tmp_path: Path) -> None:
    write(tmp_path)
    [s], _ = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    lines = sms_report(s)
    assert (
        "whatsapp cart/reminder [default]: approved template "
        f"{SID} with 3 variable(s), outside the 24 h window" in lines
    )
    assert any(
        line.startswith("whatsapp cart/reminder [default]: free text, 7 characters (max 1,600)")
        and "billed per message, not per segment" in line
        for line in lines
    )
    assert (
        "whatsapp cart/last: no approved template (whatsapp.yaml): skipped unless the "
        "customer wrote on WhatsApp in the last 24 h" in lines
    )
    assert any(line.startswith("sms cart/last [default]: 1 segment(s)") for line in lines)


@pytest.mark.parametrize("channel", ["whatsapp"])
def test_frequency_caps_name_whatsapp(tmp_path: Path, channel: str) -> None:
    scenario = SCENARIO.replace("steps:", f"frequency_cap: 1 {channel} per 1d\nsteps:")
    assert problems(tmp_path, scenario) == []


def test_variables_are_part_of_the_event_contract(tmp_path: Path) -> None:
    from orchestrator.language.contracts import check_event, needs

    write(tmp_path)
    [s], _ = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    warnings = check_event(needs(s), "cart_updated", {"cart": {"id": "c-2", "url": "https://x.y"}})
    assert "cart.total missing, needed by cart/reminder whatsapp variable 2" in warnings


def test_variables_run_under_the_template_limits(tmp_path: Path) -> None:
    from orchestrator.language.limits import Limits
    from orchestrator.language.templates import TemplateProblem
    from orchestrator.language.whatsapp import content_message

    p = one(tmp_path, f"content_sid: {SID}\nvariables:\n  1: \"'x' * 10**9\"\n")
    assert "size limit exceeded" in p.message and p.line == 3
    big = ContentTemplate(SID, {"1": "note", "2": "note"})
    with pytest.raises(TemplateProblem) as info:  # together past the output limit
        content_message(big, {"note": "x" * 600}, limits=Limits(max_output=1000))
    assert info.value.limit == "output" and str(info.value).startswith("variable 2 (note)")

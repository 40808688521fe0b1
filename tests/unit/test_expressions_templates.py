"""Conditions, time expressions, locale choice and per-channel rendering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.language.expressions import (
    ExpressionError,
    condition_context,
    evaluate,
    resolve_time,
    split_time_expression,
    to_datetime,
)
from orchestrator.language.templates import TemplateProblem, pick_locale, render


def test_conditions_see_event_fields_trigger_and_engagement() -> None:
    ctx = condition_context(
        event={"order": {"cart_id": "c1"}},
        trigger={"cart": {"id": "c1"}},
        contact={"attributes": {"vip": True}},
        engagement={"clicked": True},
    )
    assert evaluate("order.cart_id == trigger.cart.id", ctx) is True
    assert evaluate("clicked and engaged and not opened", ctx) is True
    assert evaluate("contact.attributes.vip", ctx) is True


def test_undefined_names_raise() -> None:
    with pytest.raises(ExpressionError, match="'cart' is undefined"):
        evaluate("cart.total > 0", {})


def test_sandbox_blocks_unsafe_attributes() -> None:
    with pytest.raises(ExpressionError):
        evaluate("''.__class__.__mro__[1].__subclasses__()", {})


def test_time_expressions() -> None:
    assert split_time_expression("webinar.starts_at - 24h") == ("webinar.starts_at", -86400)
    assert split_time_expression("webinar.starts_at + 1d2h") == ("webinar.starts_at", 93600)
    assert split_time_expression("webinar.starts_at") == ("webinar.starts_at", 0)
    ctx = {"webinar": {"starts_at": "2026-12-03T17:00:00Z"}}
    assert resolve_time("webinar.starts_at", -900, ctx) == datetime(2026, 12, 3, 16, 45, tzinfo=UTC)


def test_to_datetime_forms() -> None:
    assert to_datetime("2026-12-03T17:00:00Z") == datetime(2026, 12, 3, 17, tzinfo=UTC)
    assert to_datetime("2026-12-03T17:00:00") == datetime(2026, 12, 3, 17, tzinfo=UTC)
    assert to_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(ExpressionError):
        to_datetime("tomorrow")


def test_locale_choice() -> None:
    have = {"", "ru", "pt-BR"}
    assert pick_locale(have, "ru-RU") == "ru"
    assert pick_locale(have, "pt_BR") == "pt-BR"
    assert pick_locale(have, "de") == ""
    assert pick_locale(have, None) == ""


EMAIL = (
    "{% block subject %}Tom & Jerry{% endblock %}"
    "{% block html %}<p>{{ name }}</p>{% endblock %}"
    "{% block text %}{{ name }}{% endblock %}"
)


def test_email_html_is_escaped_text_is_not() -> None:
    out = render("email", EMAIL, {"name": "<b>Al & Co</b>"})
    assert out.subject == "Tom & Jerry"
    assert out.html == "<p>&lt;b&gt;Al &amp; Co&lt;/b&gt;</p>"
    assert out.text == "<b>Al & Co</b>"


def test_email_text_derived_from_html() -> None:
    out = render(
        "email",
        "{% block subject %}s{% endblock %}{% block html %}<p>Hi &amp; bye</p>{% endblock %}",
        {},
    )
    assert out.text == "Hi & bye"


def test_missing_block_and_buttons() -> None:
    with pytest.raises(TemplateProblem, match="needs block"):
        render("push", "{% block title %}t{% endblock %}", {})
    tg = render(
        "telegram",
        "{% block text %}Hi{% endblock %}"
        "{% block buttons %}Open | https://x.test/a\nMore|https://x.test/b"
        "{% endblock %}",
        {},
    )
    assert tg.buttons == [("Open", "https://x.test/a"), ("More", "https://x.test/b")]
    with pytest.raises(TemplateProblem, match="Label"):
        render(
            "telegram", "{% block text %}Hi{% endblock %}{% block buttons %}Open{% endblock %}", {}
        )

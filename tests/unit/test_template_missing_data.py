"""A field missing from real data gives a clear message, even when its name is a dict method."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.language.templates import TemplateProblem, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("access", ['cart["items"]', "cart.items"])
def test_missing_cart_items_names_the_field(access: str) -> None:
    source = f"{{% block text %}}{{{{ {access} | length }}}} item(s){{% endblock %}}"
    with pytest.raises(TemplateProblem) as info:
        render("sms", source, {"cart": {"id": "c-1", "total": 5}})
    message = str(info.value)
    assert "builtin_function_or_method" not in message
    assert "'items' is missing from the data (it has: id, total)" in message


def test_data_wins_over_dict_methods_and_the_items_filter_iterates() -> None:
    source = (
        "{% block text %}{{ cart.items | length }}/{{ cart.keys }}"
        "{% for k, v in cart.extra | items %} {{ k }}={{ v }}{% endfor %}{% endblock %}"
    )
    context = {"cart": {"items": [1, 2], "keys": "k", "extra": {"a": 1}}}
    assert render("sms", source, context).text == "2/k a=1"


def test_the_shipped_cart_template_without_items_is_clear() -> None:
    source = (ROOT / "templates/abandoned_cart/reminder/email.j2").read_text()
    data = {"cart": {"id": "c-1", "total": 5, "currency": "EUR", "url": "https://s.test/c"}}
    with pytest.raises(TemplateProblem, match="'items' is missing from the data"):
        render("email", source, {**data, "contact": {"first_name": "A"}, "trigger": data})

"""Scenario files written to a temporary folder and validated: the validation tests' cases."""

from __future__ import annotations

import textwrap
from pathlib import Path

from orchestrator.language.errors import Problem
from orchestrator.language.loader import load_all

ROOT = Path(__file__).resolve().parents[1]
OK_TEMPLATES = {
    "t/hello/email.j2": "{% block subject %}Hi {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>{{ cart.id }}</p>{% endblock %}",
    "t/hello/sms.j2": "{% block text %}Hi{% endblock %}",
}
GOOD = """\
scenario: s
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
steps:
  - wait: 1h
  - send: {email: t/hello}
sample:
  cart_updated: {cart: {id: c-1, total: 3}}
  order_placed: {order: {cart_id: c-1}}
"""


def check(
    tmp: Path,
    yaml_text: str,
    templates: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> list[Problem]:
    (tmp / "scenarios").mkdir(exist_ok=True)
    (tmp / "scenarios" / "s.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    for name, text in (extra or {}).items():
        (tmp / "scenarios" / name).write_text(text, encoding="utf-8")
    for name, source in (OK_TEMPLATES if templates is None else templates).items():
        path = tmp / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    _, problems = load_all([tmp / "scenarios"], tmp / "templates")
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]

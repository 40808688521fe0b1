"""The reminder ladder scenario and its customers, shared by the ladder tests."""

from __future__ import annotations

from pathlib import Path

from harness import FULL_CONTACT, write_scenario

from orchestrator.engine.contacts import Contact
from orchestrator.language.model import Scenario

H = 3600
LADDER = """
scenario: cart
trigger: {event: cart_updated, when: cart.total > 0, per: cart.id, again: restart}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
exit: cart_emptied
{policies}
steps:
  - wait: 1h
  - escalate:
      - email: cart/reminder
        wait: 4h
      - push: cart/reminder
        wait: 2h
      - telegram: cart/reminder
        wait: 2h
      - sms: cart/last_call
sample:
  cart_updated: {cart: {id: c-1, total: 10}}
  order_placed: {order: {cart_id: c-1}}
"""
TEMPLATES = {
    "cart/reminder/email": "{% block subject %}Cart {{ cart.id }}{% endblock %}"
    "{% block html %}<p>{{ money(cart.total) }}</p>{% endblock %}",
    "cart/reminder/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}",
    "cart/reminder/telegram": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    "cart/last_call/sms": "{% block text %}Last call {{ cart.id }}{% endblock %}",
}


def ladder(tmp_path: Path, policies: str = "") -> Scenario:
    return write_scenario(tmp_path, LADDER.replace("{policies}", policies), TEMPLATES)


def contact(**changes: object) -> Contact:
    return Contact.model_validate({**FULL_CONTACT, **changes})

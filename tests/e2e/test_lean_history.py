"""What a run leaves in Temporal's history (issue 14), through the HTTP API on a dev server:
search attributes set at start and only the outcome upserted, conditions that read no contact
data evaluated without a local activity, sends that carry neither the templates nor the cart
(they name the version and the stored trigger event), so a 200 KB cart adds itself once — in
the signal — and nothing per send. Three customers share one cart id; each gets their own."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from accepting import AcceptingChannel
from e2e_stack import running_stack
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.ids import customer_ref, workflow_id

SCENARIO = """
scenario: lean_cart
trigger: {event: cart_updated, when: cart.total > 0, per: cart.id}
goal: {event: order_placed, when: order.cart_id == trigger.cart.id}
steps:
  - wait: 1s
  - escalate:
      - email: lean/reminder
        wait: 1s
      - sms: lean/reminder
sample:
  cart_updated: {cart: {id: c-1, total: 10, items: [{name: shirt}]}}
  order_placed: {order: {cart_id: c-1}}
"""
TEMPLATES = {
    "lean/reminder/email": "{% block subject %}Cart {{ cart.total }}{% endblock %}"
    "{% block html %}<p>{{ cart.total }}: {{ cart['items'] | length }} items"
    " {{ cart['items'][0].name[:20] }}</p>{% endblock %}",
    "lean/reminder/email.ru": "{% block subject %}Корзина {{ cart.total }}{% endblock %}"
    "{% block html %}<p>{{ cart.total }}</p>{% endblock %}",
    "lean/reminder/sms": "{% block text %}Cart {{ cart.total }} waits{% endblock %}",
}
BIG_ITEMS = 2_000  # ~200 KB of cart


def cart(total: int, items: int) -> dict[str, Any]:
    return {
        "id": "shared",
        "total": total,
        "items": [{"name": f"item-{i}-" + "x" * 90} for i in range(items)],
    }


async def test_history_stays_small_whatever_the_cart(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    providers = {c: AcceptingChannel(c) for c in ("email", "sms")}
    tag = uuid.uuid4().hex[:6]
    customers = {f"lean-{tag}-{i}": (100 + i, BIG_ITEMS if i == 1 else 1) for i in range(3)}
    async with running_stack(dev_env, tmp_path, SCENARIO, TEMPLATES, dict(providers)) as run:
        for c, (total, items) in customers.items():
            await run.post_event(
                {
                    "name": "cart_updated",
                    "customer_id": c,
                    "event_id": f"{c}-e1",
                    "data": {"cart": cart(total, items)},
                    "contact": {
                        "email": f"{c}@example.com",
                        "phone": "+15005550006",
                        "consents": {"email": True, "sms": True},
                    },
                }
            )
        wids = {
            c: workflow_id("lean_cart", f"customer-{customer_ref(c)}/cart-shared")
            for c in customers
        }
        states = {c: await run.result(w) for c, w in wids.items()}
        histories = {
            c: (await dev_env.client.get_workflow_handle(w).fetch_history()).events
            for c, w in wids.items()
        }
        described = {
            c: await dev_env.client.get_workflow_handle(w).describe() for c, w in wids.items()
        }
    for c, (total, _) in customers.items():
        assert states[c]["outcome"] == "exhausted", states[c]
        (email,) = [o for o in providers["email"].sent if o.customer_id == c]
        (sms,) = [o for o in providers["sms"].sent if o.customer_id == c]
        assert email.address == f"{c}@example.com"
        assert f"{total}:" in email.message.html and f"Cart {total} waits" == sms.message.text
    assert (
        "2000 items"
        in next(o for o in providers["email"].sent if o.customer_id == f"lean-{tag}-1").message.html
    )

    def kinds(events: Any, kind: int) -> list[Any]:
        return [e for e in events if e.event_type == kind]

    size = {c: sum(e.ByteSize() for e in events) for c, events in histories.items()}
    big, small = f"lean-{tag}-1", f"lean-{tag}-0"
    cart_bytes = len(str(cart(0, BIG_ITEMS)))
    for c, events in histories.items():
        # One upsert: the outcome. Scenario, version and customer were set at the start.
        assert len(kinds(events, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)) == 1
        assert kinds(events, EventType.EVENT_TYPE_MARKER_RECORDED) == []  # no local activity
        for scheduled in kinds(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED):
            sent = scheduled.activity_task_scheduled_event_attributes.input.ByteSize()
            assert sent < 2_000, sent  # no templates, no cart
        attrs = described[c].typed_search_attributes
        assert {p.key.name: p.value for p in attrs if p.key.name.startswith("Omni")} == {
            "OmniScenario": "lean_cart",
            "OmniScenarioVersion": states[c]["version"],
            "OmniCustomerId": customer_ref(c),
            "OmniOutcome": "exhausted",
        }
    assert size[small] < 10_000, size
    # The big cart is in the history once (its signal), not once per send.
    assert size[big] - size[small] < cart_bytes * 1.1, (size, cart_bytes)
    assert size[big] - size[small] > cart_bytes * 0.8  # and the measure sees it at all

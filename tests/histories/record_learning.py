"""Record the history of a run that learns and measures (learned order, a costed rung, a
holdout and the goal window) for the replay test.

Run after a deliberate, replay-compatible change (``workflow.patched``) only:
    .venv/bin/python tests/histories/record_learning.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import FULL_CONTACT, write_scenario  # noqa: E402
from learning_harness import Fleet  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from orchestrator.dev.binaries import test_server  # noqa: E402
from orchestrator.engine.affinity import Tally  # noqa: E402
from orchestrator.engine.contacts import Contact  # noqa: E402
from orchestrator.engine.experiments import held_out  # noqa: E402

SCENARIO = """
scenario: learned_cart
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
holdout: 10%
goal_window: 2d
steps:
  - wait: 1h
  - escalate:
      - email: cart/reminder
        wait: 4h
      - telegram: cart/reminder
        wait: 2h
      - sms: cart/last_call
        wait: 1h
    order: learned
    value: cart.total
    cost: {sms: 0.08 per segment}
  - split:
      short:
        - send: {email: cart/reminder}
      long:
        - send: {telegram: cart/reminder}
sample:
  cart_updated: {cart: {id: c-1, total: 42}}
"""
TEMPLATES = {
    "cart/reminder/email": "{% block subject %}Cart{% endblock %}{% block html %}h{% endblock %}",
    "cart/reminder/telegram": "{% block text %}Cart {{ cart.id }}{% endblock %}",
    "cart/last_call/sms": "{% block text %}Last call {{ cart.id }}{% endblock %}",
}


async def main() -> None:
    customer = next(f"c{i}" for i in range(100) if not held_out("learned_cart", f"c{i}", 10))
    history = {customer: {"telegram": Tally(6, 5), "sms": Tally(20, 0)}}
    shop = {"email": Tally(1000, 200), "telegram": Tally(1000, 90), "sms": Tally(1000, 10)}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = write_scenario(Path(tmp), SCENARIO, TEMPLATES)
    contact = Contact.model_validate({**FULL_CONTACT, "id": customer})
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server()
        ) as env,
        Fleet(env, scenario, [contact], history=history, shop=shop) as fleet,
    ):
        await fleet.start(customer, {"cart": {"id": "c-1", "total": 10}})
        await fleet.at(30 * 3600)
        await fleet.signal(customer, "order_placed")
        state = (await fleet.results())[customer]
        recorded = await fleet.handles[customer].fetch_history()
    (HERE / "learned_cart.json").write_text(recorded.to_json(), encoding="utf-8")
    print(f"recorded learned_cart: {len(recorded.events)} events, outcome {state.outcome}")
    for entry in state.timeline:
        print(" ", entry.kind, entry.step, entry.channel, entry.reason)


if __name__ == "__main__":
    asyncio.run(main())

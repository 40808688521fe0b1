"""The abandoned-cart ladder as a Temporal engineer would write it by hand: the baseline of
bench/engine.py (a module of its own, passed through the workflow sandbox like Omni's).

Idiomatic and lean, doing the same work as Omni's run of the shipped abandoned_cart:

- started the same way: signal-with-start, the cart_updated event (event id and cart) as the
  start signal, so the cart is in the history once, as in Omni's;
- the same checks: the trigger condition (``cart.total > 0``) in workflow code, a reaction
  checked before each rung and awaited between rungs (``wait_condition`` with a timeout, a
  timer as in Omni), the same waits;
- the same send: Omni's own ``send`` activity with Omni's timeouts and retry policy, the
  cart by reference (the stored event's id, which the worker reads, as Omni's sends do) and
  the template by scenario version; the same idempotency key format (the activity derives the
  run's reference from it);
- the rungs are constants of the code (what a hand-written workflow has instead of a
  definition), the input is the customer and the scenario version, the result is the outcome
  and how many messages went;
- no search attributes, no summaries, no current details: what a lean workflow leaves out
  and Omni's runs carry for the Temporal UI and the console.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.activities import SEND_RETRY, Activities
    from orchestrator.engine.messages import SendRequest

#: The shipped abandoned_cart's rungs: (channel, template).
RUNGS = (
    ("email", "abandoned_cart/reminder"),
    ("push", "abandoned_cart/reminder"),
    ("telegram", "abandoned_cart/reminder"),
    ("sms", "abandoned_cart/last_call"),
)
#: The bench's five-rung variant: a second email rung before the SMS.
FIVE_RUNGS = (*RUNGS[:3], RUNGS[0], RUNGS[3])


@dataclass
class LadderInput:
    customer_id: str
    #: The scenario version whose templates the send activity renders.
    version: str
    scenario: str = "abandoned_cart"
    first_wait_s: float = 3600.0
    rung_wait_s: float = 7200.0
    five_rungs: bool = False


@dataclass
class Cart:
    """The cart_updated event: its id (the worker reads the stored event) and its data."""

    event_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LadderResult:
    outcome: str
    sent: int = 0


@workflow.defn(name="HandLadder")
class HandLadder:
    def __init__(self) -> None:
        self.cart: Cart | None = None
        self.reacted = False

    @workflow.signal
    def cart_updated(self, cart: Cart) -> None:
        self.cart = self.cart or cart

    @workflow.signal
    def reaction(self) -> None:
        self.reacted = True

    @workflow.run
    async def run(self, inp: LadderInput) -> LadderResult:
        await workflow.wait_condition(lambda: self.cart is not None)
        assert self.cart is not None
        if not float(self.cart.data.get("cart", {}).get("total", 0)) > 0:
            return LadderResult("not_triggered")
        await workflow.sleep(inp.first_wait_s)
        info = workflow.info()
        chain = (info.first_execution_run_id or info.run_id).replace("-", "")[:16]
        rungs = FIVE_RUNGS if inp.five_rungs else RUNGS
        sent = 0
        for i, (channel, template) in enumerate(rungs):
            if self.reacted:
                return LadderResult("reacted", sent)
            path = f"steps.1.rung{i + 1}"
            result = await workflow.execute_activity_method(
                Activities.send,
                SendRequest(
                    key=f"{info.workflow_id}/{chain}/g0/{path}/{channel}",
                    scenario=inp.scenario,
                    step=path,
                    channel=channel,
                    template=template,
                    customer_id=inp.customer_id,
                    now=workflow.now().isoformat(),
                    version=inp.version,
                    by_version=True,
                    trigger_ref=self.cart.event_id,
                ),
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=SEND_RETRY,
            )
            sent += result.status == "sent"
            if result.status == "sent" and i + 1 < len(rungs):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self.reacted, timeout=inp.rung_wait_s)
        return LadderResult("reacted" if self.reacted else "exhausted", sent)

"""The abandoned-cart ladder written by hand as a plain Temporal workflow: the baseline of
bench/engine.py (its own module so the workflow sandbox can import it).

What a careful engineer would write without Omni: wait, then send on each channel in turn
with Omni's own ``send`` activity (same request, timeouts and retry policy as Omni's engine),
waiting for a reaction signal between sends. No search attributes, no condition evaluation in
a local activity, a small result.
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


@dataclass
class Rung:
    channel: str
    template: str
    #: Locale -> template source (what Omni's scenario carries for this template).
    sources: dict[str, str]


@dataclass
class LadderInput:
    customer_id: str
    rungs: list[Rung]
    scenario: str = "abandoned_cart"
    category: str = "marketing"
    first_wait_s: float = 1.0
    rung_wait_s: float = 1.0


@dataclass
class Cart:
    """The cart_updated event, delivered by signal-with-start as Omni's router does."""

    event_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LadderResult:
    outcome: str
    statuses: list[str] = field(default_factory=list)


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
        await workflow.wait_condition(lambda: self.cart is not None)  # no timer: free
        assert self.cart is not None
        cart = self.cart.data
        if not float(cart.get("cart", {}).get("total", 0)) > 0:
            return LadderResult("not_triggered")
        await workflow.sleep(inp.first_wait_s)
        wid = workflow.info().workflow_id
        statuses: list[str] = []
        for i, rung in enumerate(inp.rungs):
            if self.reacted:
                return LadderResult("reacted", statuses)
            path = f"steps.1.rung{i + 1}"
            result = await workflow.execute_activity_method(
                Activities.send,
                SendRequest(
                    key=f"{wid}/{path}/{rung.channel}",
                    scenario=inp.scenario,
                    category=inp.category,
                    step=path,
                    channel=rung.channel,
                    template=rung.template,
                    sources=rung.sources,
                    customer_id=inp.customer_id,
                    now=workflow.now().isoformat(),
                    run={"id": wid, "scenario": inp.scenario, "step": path},
                    trigger=cart,
                    event={},
                    run_ref=wid,
                ),
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=10),
                retry_policy=SEND_RETRY,
            )
            statuses.append(result.status)
            if result.status == "sent" and i + 1 < len(inp.rungs):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self.reacted, timeout=inp.rung_wait_s)
        return LadderResult("reacted" if self.reacted else "exhausted", statuses)

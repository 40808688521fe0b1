"""On a real Temporal dev server: routing, search attributes, readable activity summaries."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from accepting import AcceptingChannel
from harness import FULL_CONTACT, eventually, quick_cart
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine import search
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import EventSignal, RunState
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.model import CHANNELS


async def test_routed_run_is_searchable_and_converts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = quick_cart(tmp_path, first_wait="1s", rung_wait="1h")
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    contact = Contact.model_validate({**FULL_CONTACT, "id": customer})
    email = AcceptingChannel("email")
    channels = {c: AcceptingChannel(c) for c in CHANNELS} | {"email": email}
    queue = f"dev-{uuid.uuid4()}"
    activities = Activities(
        directory=InMemoryDirectory([contact]), send_log=InMemorySendLog(), channels=dict(channels)
    )
    router = Router(dev_env.client, {scenario.id: scenario}, task_queue=queue)
    async with build_worker(dev_env.client, task_queue=queue, activities=activities):
        cart = {"cart": {"id": f"c-{customer}", "total": 5}}
        routed = await router.route(EventSignal("cart_updated", "e1", customer, data=cart))
        wid = f"quick_cart/customer-{customer}/cart-c-{customer}"
        assert routed.started_or_signalled == [wid]
        # The same event id again reaches the same run and is dropped there.
        again = await router.route(EventSignal("cart_updated", "e1", customer, data=cart))
        assert again.started_or_signalled == [wid]

        async def email_sent() -> bool:
            return len(email.sent) == 1

        await eventually(email_sent)
        handle = dev_env.client.get_workflow_handle(wid, result_type=RunState)

        async def indexed() -> bool:
            found = [
                w.id
                async for w in dev_env.client.list_workflows(
                    f'OmniCustomerId = "{customer}" AND OmniScenario = "quick_cart"'
                    ' AND ExecutionStatus = "Running"'
                )
            ]
            return found == [wid]

        await eventually(indexed)
        order = {"order": {"cart_id": f"c-{customer}"}}
        routed = await router.route(EventSignal("order_placed", "e2", customer, data=order))
        assert routed.signalled == [wid]
        state = await asyncio.wait_for(handle.result(), timeout=15)
    assert state.outcome == "converted"
    assert [e.event for e in state.timeline if e.kind == "event"] == [
        "cart_updated",
        "order_placed",
    ]
    described = await handle.describe()
    attrs = described.typed_search_attributes
    assert attrs.get(search.SCENARIO) == "quick_cart"
    assert attrs.get(search.VERSION) == scenario.version
    assert attrs.get(search.CUSTOMER) == customer
    assert attrs.get(search.OUTCOME) == "converted"
    # Set at start (free) and at the end; steps and channels show in the current details.
    assert attrs.get(search.STEP) is None and attrs.get(search.LAST_CHANNEL) is None
    history = await handle.fetch_history()
    summaries = [
        e.user_metadata.summary.data.decode()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert summaries == ['"send email: quick/reminder"']

"""On a real Temporal dev server: what the Temporal UI shows of a run (user metadata)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from accepting import AcceptingChannel
from harness import FULL_CONTACT, eventually, quick_cart
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from channels.base import Channel
from orchestrator.engine import search
from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.messages import EventSignal
from orchestrator.engine.router import Router
from orchestrator.engine.runtime import build_worker
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.model import CHANNELS


async def test_run_carries_summary_details_and_timer_summaries(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = quick_cart(tmp_path, first_wait="1s", rung_wait="4h")
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    contact = Contact.model_validate({**FULL_CONTACT, "id": customer})
    email = AcceptingChannel("email")
    channels: dict[str, Channel] = {c: AcceptingChannel(c) for c in CHANNELS}
    channels["email"] = email
    queue = f"meta-{uuid.uuid4()}"
    activities = Activities(
        directory=InMemoryDirectory([contact]), send_log=InMemorySendLog(), channels=channels
    )
    router = Router(dev_env.client, {scenario.id: scenario}, task_queue=queue)
    async with build_worker(dev_env.client, task_queue=queue, activities=activities):
        cart = {"cart": {"id": f"c-{customer}", "total": 5}}
        routed = await router.route(EventSignal("cart_updated", "e1", customer, data=cart))
        wid = routed.started_or_signalled[0]
        handle = dev_env.client.get_workflow_handle(wid)

        async def waiting_for_reaction() -> bool:
            meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            return "waiting up to 4 h" in meta.current_details

        await eventually(waiting_for_reaction)
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert meta.current_details == (
            "Ladder · 1. email: waiting up to 4 h for a reaction to `quick/reminder`"
            " · next: Ladder · 2. sms · sent so far: email"
        )
        described = await handle.describe()
        summary = await described.static_summary()
        details = await described.static_details()
        assert summary == f"quick_cart · customer {customer_ref(customer)} · key {wid[11:]}"
        assert details is not None and "**quick_cart**" in details
        assert scenario.version in details
        # The step shows in the current details; an OmniStep upsert per step would cost an
        # action each (issue 14), so runs of revision 1 set only what engineers filter by.
        assert described.typed_search_attributes.get(search.STEP) is None
        assert described.typed_search_attributes.get(search.SCENARIO) == "quick_cart"
        history = await handle.fetch_history()
        timers = [
            json.loads(e.user_metadata.summary.data)
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        ]
        assert timers == ["Wait 1 s", "Wait 4 h for a reaction to Ladder · 1. email"]
        await handle.terminate("test done")
    # The contact's address never shows: only the customer reference.
    assert FULL_CONTACT["email"] not in (summary + (details or ""))

"""Record, on a real dev server, a digest whose window ends while no worker runs: the drops
that came meanwhile reach the next worker in the same task as the window's timer, and join
the digest (``workflow.patched("omni-digest-late-events")``). The time-skipping server of
record_router.py cannot skip time while workflow tasks wait for a worker, so this case has a
recorder of its own, started the same way (the router, stored events, revision 1).

    .venv/bin/python tests/histories/record_late_digest.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from histories.record_router import OUT, Shop, drop  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import WorkflowHandle  # noqa: E402

from orchestrator.dev.devserver import start_dev_server  # noqa: E402
from orchestrator.engine.messages import RunState  # noqa: E402
from orchestrator.engine.runtime import build_worker  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402

ROOT = HERE.parent.parent
CASE = "price_drop_digest__late_events"


async def has(handle: WorkflowHandle[object, RunState], kind: int) -> bool:
    return any(e.event_type == kind for e in (await handle.fetch_history()).events)


async def until(handle: WorkflowHandle[object, RunState], kind: int) -> None:
    for _ in range(600):
        if await has(handle, kind):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no {kind} in the history")


async def main() -> None:
    scenario = load_or_raise([HERE / "late"], ROOT / "templates")["price_drop_digest"]
    async with await start_dev_server() as env:
        shop = Shop(env, {scenario.id: scenario})
        router = shop.router()
        async with build_worker(env.client, task_queue=shop.queue, activities=shop.activities()):
            for n in range(3):
                await shop.deliver(router, "ann", "price_dropped", drop(f"a{n}", 10 + n))
            handle = env.client.get_workflow_handle("price_drop_digest/customer-ann")
            handle = env.client.get_workflow_handle(handle.id, result_type=RunState)
            await until(handle, EventType.EVENT_TYPE_TIMER_STARTED)
        # No worker: these drops wait in the history while the window's timer fires.
        for n in range(3):
            await shop.deliver(router, "ann", "price_dropped", drop(f"b{n}", 20 + n))
        await until(handle, EventType.EVENT_TYPE_TIMER_FIRED)
        async with build_worker(env.client, task_queue=shop.queue, activities=shop.activities()):
            state = await handle.result()
        history = await handle.fetch_history()
    path = OUT / f"{CASE}.json"
    path.write_text(history.to_json(), encoding="utf-8")
    sends = ", ".join(f"{m.channel}:{m.status}" for m in state.messages)
    print(f"recorded {path.relative_to(HERE)}: {len(history.events)} events, {sends}")


if __name__ == "__main__":
    asyncio.run(main())

"""Record workflow histories of the shipped scenarios for the replay test.

Run after a deliberate, replay-compatible change (``workflow.patched``) only:
    .venv/bin/python tests/histories/record.py
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import FULL_CONTACT, Run  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from orchestrator.dev.binaries import test_server  # noqa: E402
from orchestrator.engine.contacts import Contact  # noqa: E402
from orchestrator.language.loader import load_or_raise  # noqa: E402

ROOT = HERE.parent.parent


async def record(
    env: WorkflowEnvironment, name: str, events: list[tuple[int, str, dict[str, Any]]]
) -> None:
    scenario = load_or_raise([ROOT / "scenarios"], ROOT / "templates")[name]
    data = scenario.samples[scenario.trigger.event]
    if name == "webinar_reminder":
        starts = await env.get_current_time() + timedelta(days=2)
        data = {"webinar": {**data["webinar"], "starts_at": starts.isoformat()}}
    contact = Contact.model_validate({**FULL_CONTACT, "telegram_chat_id": None})
    async with Run(env, scenario, contact) as run:
        await run.start(data)
        for offset, event, payload in events:
            await run.at(offset)
            await run.signal(event, payload, event_id=f"{event}-{offset}")
        await run.result()
        assert run.handle is not None
        history = await run.handle.fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
    print(f"recorded {name}: {len(history.events)} events")


async def main() -> None:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server()
    ) as env:
        await record(
            env,
            "abandoned_cart",
            [
                (1800, "cart_updated", {"cart": {"id": "c-981", "total": 70}}),
                (7 * 3600, "message_opened", {}),
            ],
        )
        await record(env, "webinar_reminder", [])
        await record(env, "welcome_series", [(3600, "message_opened", {})])
        await record(
            env, "browse_followup", [(3600, "order_placed", {"order": {"product_ids": ["p-5"]}})]
        )


if __name__ == "__main__":
    asyncio.run(main())

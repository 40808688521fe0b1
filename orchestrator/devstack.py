"""``omni dev``: the Temporal dev server (SQLite, UI) and a worker, on embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import worker
from orchestrator.devserver import start_dev_server

TEMPORAL_PORT = 7233
UI_PORT = 8233


async def run_dev() -> int:
    config = worker.WorkerConfig.from_env()
    worker.load_scenarios(config)  # fail before starting anything if a scenario is broken
    db = config.data_dir / "temporal.db"
    env = await start_dev_server(db_file=db, port=TEMPORAL_PORT, ui=True, ui_port=UI_PORT)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with env:
        print(f"Temporal dev server  127.0.0.1:{TEMPORAL_PORT}  (runs kept in {db})")
        print(f"Temporal UI          http://127.0.0.1:{UI_PORT}")
        print(f"worker               task queue {config.task_queue!r}, scenarios in "
              f"{config.scenarios_dir}/")
        print(f"outbox               {config.data_dir / 'outbox'}/<channel>.jsonl")
        print("try:  .venv/bin/omni send-event cart_updated --customer 42 "
              "--contact '{\"id\": \"42\", \"email\": \"alex@example.com\", "
              "\"consents\": {\"email\": true}}' "
              "--data '{\"cart\": {\"id\": \"c-1\", \"total\": 59.9, \"currency\": \"EUR\", "
              "\"url\": \"https://shop.example/cart/c-1\", \"items\": []}}'")
        print("Ctrl-C stops everything.")
        task = asyncio.create_task(worker.run(config, env.client))
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    print("stopped")
    return 0

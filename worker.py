"""The worker process starts here (``python worker.py``; ``omni worker`` does the same).

Everything it is made of is assembled in ``orchestrator.app`` from the settings
``orchestrator.config`` reads; this file only starts it.
"""

from __future__ import annotations

import asyncio

from orchestrator.app.processes import run_worker
from orchestrator.app.providers import NoProvider
from orchestrator.config.redact import configure_logging
from orchestrator.config.settings import SettingsInvalid, load_settings

if __name__ == "__main__":
    configure_logging()
    try:
        asyncio.run(run_worker(load_settings()))
    except (NoProvider, SettingsInvalid) as exc:
        raise SystemExit(f"omni worker: {exc}") from None

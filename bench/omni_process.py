"""``omni worker`` / ``omni api`` for bench/scale.py, one OS process each.

    python bench/omni_process.py worker|api

The same functions the omni commands call (``run_worker``, ``run_api`` on uvloop, as ``omni
api`` runs it) on the configuration from the environment, plus the one setting that has no
variable: ``BENCH_PUSH_ORIGIN``, the local push peer's origin (plain http on loopback), which
the push channel (worker) and the contact check (API) must trust, as the tests' stacks do.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.app.processes import run_api, run_worker
from orchestrator.config.redact import configure_logging
from orchestrator.config.settings import Settings, load_settings


def config() -> Settings:
    c = load_settings()
    origin = os.environ.get("BENCH_PUSH_ORIGIN", "")
    if not origin:
        return c
    api = c.api.model_copy(update={"trusted_push_origins": (origin,)})
    push = c.push and c.push.model_copy(update={"trusted_origins": (origin,)})
    return c.model_copy(update={"api": api, "push": push})


if __name__ == "__main__":
    configure_logging()
    role = sys.argv[1]
    if role == "worker":
        asyncio.run(run_worker(config()))
    else:
        import uvloop

        uvloop.run(run_api(config()))  # as `omni api` runs it (orchestrator/cli.py)

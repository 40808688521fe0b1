"""``omni send-event`` as a shop developer runs it against a running API: the dev key from
the data folder, the run it started printed, and none of the worker's modules imported."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from api_stack import Api

ROOT = Path(__file__).resolve().parents[2]
#: What a quick HTTP client has no use for (seconds of imports between them): the worker, the
#: composition root, Temporal, the store, the web framework, templates, providers' clients.
HEAVY = (
    "worker",
    "orchestrator.app",
    "temporalio",
    "sqlalchemy",
    "fastapi",
    "httpx",
    "jinja2",
    "twilio",
    "telegram",
    "aiohttp",
    "aiosmtplib",
)


async def omni(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``omni ARGS`` under ``python -X importtime``, without blocking the API's event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "orchestrator.cli", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


def imported(importtime: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }


async def test_send_event_posts_with_the_dev_key_and_imports_no_worker(
    api: Api, tmp_path: Path
) -> None:
    (tmp_path / "dev-api-key").write_text(api.key + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(OMNI_API_URL=str(api.client.base_url), OMNI_DATA_DIR=str(tmp_path))
    data = json.dumps({"cart": {"id": api.cart, "total": 30}})
    code, out, err = await omni(
        "send-event", "cart_updated", "--customer", "42", "--data", data, env=env
    )
    assert code == 0, out + err
    answer = json.loads(out)
    assert answer["results"][0]["status"] == "accepted"
    assert answer["results"][0]["runs"] == [api.wid]
    heavy = sorted(m for m in imported(err) if m.startswith(HEAVY))
    assert heavy == [], f"send-event imported {heavy[:5]}..."


async def test_send_event_says_why_the_api_refused(api: Api, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(OMNI_API_URL=str(api.client.base_url), OMNI_API_KEY="omni_nope.nope")
    code, out, _ = await omni("send-event", "cart_updated", "--customer", "42", env=env)
    assert code == 1
    assert json.loads(out)["status"] == 401  # the problem object, printed as it came

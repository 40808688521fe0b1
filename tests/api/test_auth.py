"""API keys across processes and clients: revocation reaches every API process within
seconds; failed authentication is throttled per client without slowing valid keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment
from tests_store_url import migrated_sqlite

from orchestrator.api.app import create_app
from orchestrator.api.keys import key_id_of
from orchestrator.api.serve import serving
from orchestrator.api.services import Services, build_services
from orchestrator.api.settings import ApiSettings
from orchestrator.store.db import make_engine, sessions

OMNI = str(Path(sys.executable).parent / "omni")


@asynccontextmanager
async def api_process(
    env: WorkflowEnvironment, url: str, settings: ApiSettings | None = None
) -> AsyncIterator[tuple[Services, str]]:
    """One API process's worth of state (its own engine, key cache and throttle), served."""
    engine = make_engine(url)
    svc = build_services(env.client, sessions(engine), {}, task_queue="auth", settings=settings)
    try:
        async with serving(create_app(svc)) as base:
            yield svc, base
    finally:
        await engine.dispose()


def client(base: str, source: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client whose connections come from ``source`` (any 127.x address is local)."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base, transport=transport)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_revoked_with_the_cli_is_refused_by_every_api_process_within_seconds(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = await migrated_sqlite(tmp_path)
    async with AsyncExitStack() as stack:
        first, base_a = await stack.enter_async_context(api_process(time_env, url))
        _, base_b = await stack.enter_async_context(api_process(time_env, url))
        a = await stack.enter_async_context(client(base_a))
        b = await stack.enter_async_context(client(base_b))
        key = await first.keys.create("shop", scopes=["read"])
        for http in (a, b):  # both processes have checked (and cached) the key
            assert (await http.get("/v1/contacts/nobody", headers=bearer(key))).status_code == 404
        env = {**os.environ, "DATABASE_URL": url}
        cli = await asyncio.create_subprocess_exec(
            OMNI, "api-key", "revoke", key_id_of(key), env=env, stderr=asyncio.subprocess.PIPE
        )
        while cli.returncode is None:  # keep both caches fresh while the CLI starts up
            for http in (a, b):
                await http.get("/v1/contacts/nobody", headers=bearer(key))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cli.wait(), 0.1)
        assert cli.returncode == 0, await cli.stderr.read()  # type: ignore[union-attr]
        revoked_at = time.monotonic()
        refused: dict[str, float] = {}
        while len(refused) < 2 and time.monotonic() - revoked_at < 8:
            for name, http in (("a", a), ("b", b)):
                if name not in refused:
                    answer = await http.get("/v1/contacts/nobody", headers=bearer(key))
                    if answer.status_code == 401:
                        refused[name] = time.monotonic() - revoked_at
            await asyncio.sleep(0.05)
    assert set(refused) == {"a", "b"}, f"8 s after revocation only {sorted(refused)} refuse it"
    assert max(refused.values()) < 2 + 1  # the cache TTL (2 s) plus the polling slack


async def test_failed_authentication_is_throttled_per_client_not_valid_keys(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = await migrated_sqlite(tmp_path)
    settings = ApiSettings(auth_failure_burst=5, auth_failures_per_minute=6)
    async with AsyncExitStack() as stack:
        svc, base = await stack.enter_async_context(api_process(time_env, url, settings))
        attacker = await stack.enter_async_context(client(base, "127.0.0.2"))
        shop = await stack.enter_async_context(client(base, "127.0.0.3"))
        key = await svc.keys.create("shop", scopes=["read"])
        forged = key[:-6] + "AAAAAA"
        answers = [
            (await attacker.get("/v1/contacts/x", headers=bearer(forged))).status_code
            for _ in range(5)
        ]
        assert answers == [401] * 5
        throttled = await attacker.get("/v1/contacts/x", headers=bearer(forged))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["Retry-After"]) <= 10
        no_header = await attacker.get("/v1/contacts/x")
        assert no_header.status_code == 429  # a missing key is a failure too
        # Another client is not affected, and a valid key is never throttled: not from the
        # other client, nor from the throttled one (a shop behind the same NAT or proxy).
        started = time.monotonic()
        for _ in range(20):
            assert (await shop.get("/v1/contacts/x", headers=bearer(key))).status_code == 404
            assert (await attacker.get("/v1/contacts/x", headers=bearer(key))).status_code == 404
        per_request = (time.monotonic() - started) / 40
        assert per_request < 0.25, f"valid keys slowed to {per_request:.3f} s a request"
        assert (await shop.get("/v1/contacts/x", headers=bearer(forged))).status_code == 401
        assert (await attacker.get("/v1/contacts/x", headers=bearer(forged))).status_code == 429

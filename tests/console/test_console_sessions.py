"""Console sessions are server-side: logout, a revoked key and a changed password end them in
every API process sharing the store; idle and absolute lifetimes; odd bytes in a cookie or a
form never make a 500; and the login throttle (ASVS V2.2.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from console_stack import csrf_of, log_in
from temporalio.testing import WorkflowEnvironment
from tests_store_url import database_url

from orchestrator.api.app import create_app
from orchestrator.api.browser import LoginThrottle
from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import serving
from orchestrator.api.services import Services, build_services
from orchestrator.console.app import build_console, install_console
from orchestrator.console.settings import ConsoleSettings
from orchestrator.console.state import Console
from orchestrator.store.db import make_engine, sessions

PASSWORD = "first-console-password-0123"
SECRET = b"s" * 32
ATTACKER = "127.0.0.2"


class Clock:
    """A wall clock the test moves forward."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class Process:
    base: str
    svc: Services
    console: Console


@asynccontextmanager
async def console_process(
    env: WorkflowEnvironment,
    url: str,
    password: str = PASSWORD,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[Process]:
    """One API process with the console (its own engine and throttle) on the shared store."""
    engine = make_engine(url)
    factory = sessions(engine)
    svc = build_services(env.client, factory, {}, task_queue="sessions")
    console = build_console(
        svc, factory, secret=SECRET, settings=ConsoleSettings(password=password), clock=clock
    )
    app = create_app(svc)
    install_console(app, console)
    try:
        async with serving(app) as base:
            yield Process(base, svc, console)
    finally:
        await engine.dispose()


def browser(base: str, source: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base, transport=httpx.AsyncHTTPTransport(local_address=source)
    )


async def logged_in_cookie(base: str, secret: str) -> str:
    async with browser(base) as client:
        answer = await log_in(client, secret)
        assert answer.status_code == 303, answer.text
        return str(client.cookies["omni_console"])


async def page_with(base: str, cookie: str) -> int:
    """The console's status for a browser holding ``cookie``: 200, or 303 to the login."""
    async with browser(base) as client:
        answer = await client.get("/console", headers={"Cookie": f"omni_console={cookie}"})
        assert answer.status_code in (200, 303), answer.text
        return answer.status_code


async def refused_within(seconds: float, bases: list[str], cookie: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if all([await page_with(b, cookie) == 303 for b in bases]):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"still logged in {seconds} s later")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async for url in database_url(request.param, tmp_path):
        yield url


async def test_logout_ends_the_session_in_every_process(
    time_env: WorkflowEnvironment, store: str
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(console_process(time_env, store))
        b = await stack.enter_async_context(console_process(time_env, store))
        async with browser(a.base) as client:
            assert (await log_in(client, PASSWORD)).status_code == 303
            cookie = str(client.cookies["omni_console"])
            assert await page_with(b.base, cookie) == 200  # the session is the store's
            page = await client.get("/console")
            out = await client.post(
                "/console/logout", data={"csrf": csrf_of(page.text)}, headers={"Origin": a.base}
            )
            assert out.status_code == 303
        assert await page_with(a.base, cookie) == 303
        assert await page_with(b.base, cookie) == 303


async def test_revoking_the_key_ends_its_sessions_in_every_process_within_2_s(
    time_env: WorkflowEnvironment, store: str
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(console_process(time_env, store))
        b = await stack.enter_async_context(console_process(time_env, store))
        key = await a.svc.keys.create("marketer", scopes=["console"])
        other = await a.svc.keys.create("another", scopes=["console"])
        cookie = await logged_in_cookie(a.base, key)
        kept = await logged_in_cookie(b.base, other)
        assert await page_with(b.base, cookie) == 200
        await ApiKeys(b.svc.keys.sessions).revoke(key)  # as `omni api-key revoke` does
        assert await refused_within(2, [a.base, b.base], cookie) < 2
        assert await page_with(a.base, kept) == 200  # other keys' sessions live on


async def test_a_new_console_password_ends_the_old_ones_sessions_everywhere_within_2_s(
    time_env: WorkflowEnvironment, store: str
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(console_process(time_env, store))
        b = await stack.enter_async_context(console_process(time_env, store))
        key = await a.svc.keys.create("marketer", scopes=["console"])
        old = await logged_in_cookie(a.base, PASSWORD)
        by_key = await logged_in_cookie(a.base, key)
        assert await page_with(b.base, old) == 200
        # A process restarted with the new password (a rolling deploy's first one).
        c = await stack.enter_async_context(console_process(time_env, store, "second-pass-0123"))
        assert await refused_within(2, [a.base, b.base, c.base], old) < 2
        assert await page_with(b.base, by_key) == 200
        async with browser(c.base) as client:
            assert (await log_in(client, PASSWORD)).status_code == 401


async def test_sessions_end_when_idle_and_at_their_absolute_lifetime(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    clock = Clock()
    async for url in database_url("sqlite", tmp_path):
        async with console_process(time_env, url, clock=clock) as p:
            idle = await logged_in_cookie(p.base, PASSWORD)
            clock.shift += timedelta(minutes=29)
            assert await page_with(p.base, idle) == 200  # used: idle again from now
            clock.shift += timedelta(minutes=29)
            assert await page_with(p.base, idle) == 200
            clock.shift += timedelta(minutes=31)
            assert await page_with(p.base, idle) == 303
            busy = await logged_in_cookie(p.base, PASSWORD)
            for _ in range(12 * 3 - 1):  # used every 20 minutes for just under 12 hours
                clock.shift += timedelta(minutes=20)
                assert await page_with(p.base, busy) == 200
            clock.shift += timedelta(minutes=20)
            assert await page_with(p.base, busy) == 303


async def test_odd_bytes_in_the_cookie_or_a_csrf_field_are_refused_never_a_500(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    odd = "é" * 30
    async for url in database_url("sqlite", tmp_path):
        async with console_process(time_env, url) as p, browser(p.base) as client:
            raw_cookie = {"Cookie": f"omni_console={odd}; omni_console_login={odd}".encode()}
            page = await client.get("/console", headers=raw_cookie)  # type: ignore[arg-type]
            assert page.status_code == 303
            form = await client.get("/console/login")
            login = await client.post(
                "/console/login",
                data={"csrf": odd, "secret": PASSWORD},
                headers=raw_cookie,  # type: ignore[arg-type]
            )
            assert login.status_code == 403
            login = await client.post(
                "/console/login", data={"csrf": csrf_of(form.text), "secret": odd}
            )
            assert login.status_code == 401
            assert (await log_in(client, PASSWORD)).status_code == 303
            for path in ("/console/customers", "/console/logout"):
                posted = await client.post(path, data={"csrf": odd, "q": odd})
                assert posted.status_code == 403, path
            assert (await client.get("/console")).status_code == 200


async def test_login_guesses_are_throttled_per_address_before_they_are_checked(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ticks = [1000.0]
    async for url in database_url("sqlite", tmp_path):
        async with console_process(time_env, url) as p:
            p.console.throttle = LoginThrottle(clock=lambda: ticks[0])

            async def guess(secret: str) -> httpx.Response:
                async with browser(p.base, ATTACKER) as client:  # a fresh form each time
                    return await log_in(client, secret)

            answers: list[int] = []
            for batch in range(10):  # 200 wrong passwords, 20 at a time
                done = await asyncio.gather(*(guess(f"g-{batch}-{i}") for i in range(20)))
                answers += [a.status_code for a in done]
                assert all(
                    1 <= int(a.headers["Retry-After"]) <= 60 for a in done if a.status_code == 429
                )
            assert answers.count(401) == 10 and answers.count(429) == 190
            right = await guess(PASSWORD)
            assert right.status_code == 429  # not even checked
            # Another address is not locked out (the password's 100 an hour aside).
            assert (await logged_in_cookie(p.base, PASSWORD)) != ""
            ticks[0] += int(right.headers["Retry-After"])
            assert (await guess(PASSWORD)).status_code == 303


async def test_the_console_password_takes_at_most_100_failures_an_hour_from_all_addresses(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ticks = [1000.0]
    async for url in database_url("sqlite", tmp_path):
        async with console_process(time_env, url) as p:
            p.console.throttle = LoginThrottle(clock=lambda: ticks[0])
            key = await p.svc.keys.create("marketer", scopes=["console"])
            answers: list[int] = []
            for n in range(11):
                async with browser(p.base, f"127.0.1.{n + 1}") as client:
                    answers += [(await log_in(client, f"wrong-{i}")).status_code for i in range(10)]
            assert answers.count(401) == 100 and answers.count(429) == 10
            async with browser(p.base, "127.0.2.1") as fresh:
                assert (await log_in(fresh, PASSWORD)).status_code == 429
                assert (await log_in(fresh, key)).status_code == 303  # keys are not locked out
            ticks[0] += 3600
            assert await logged_in_cookie(p.base, PASSWORD)


async def test_a_key_without_the_console_scope_cannot_log_in(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async for url in database_url("sqlite", tmp_path):
        async with console_process(time_env, url) as p, browser(p.base) as client:
            key = await p.svc.keys.create("shop", scopes=["ingest", "read", "admin"])
            refused = await log_in(client, key)
            assert refused.status_code == 403 and "console" in refused.text
            assert "omni_console" not in client.cookies

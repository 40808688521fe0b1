"""Engine and sessions: SQLite (a file under the data folder) by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from orchestrator.store.urls import normalise_url

#: PostgreSQL's codes for "gave up waiting": lock_timeout, statement_timeout, a deadlock, a
#: serialization failure, too many connections, the server shutting down.
GAVE_UP = frozenset({"55P03", "57014", "40P01", "40001", "53300", "57P01", "57P03"})


class StoreBusy(SqlTimeout):
    """The store did not answer within the bound this engine was given (see bound_waits)."""


def unavailable(exc: BaseException) -> bool:
    """Busy (a held lock) or unreachable: worth a retry later, not a bug (the API's 503)."""
    if isinstance(exc, OperationalError | InterfaceError | SqlTimeout | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(exc.orig, "sqlstate", None) in GAVE_UP
    return False


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # A pool as large as the API's concurrency: past pool_size every checkout opens a
            # connection (a thread, a file open and the pragmas below) and closes it after use.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _pragmas)
        return engine
    # ``?search_path=x`` selects a schema (one database shared by several deployments or tests).
    parsed = make_url(url)
    schema = parsed.query.get("search_path")
    if schema:
        url = parsed.difference_update_query(["search_path"]).render_as_string(hide_password=False)
        kwargs.setdefault("connect_args", {})["server_settings"] = {"search_path": str(schema)}
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def _pragmas(conn: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; foreign keys are off by default.
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode never corrupts; a power cut may lose the last commits, which
    # event ids and the send log tolerate (the workflow drops repeated event ids).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_TWINS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
#: Engines that give up on a busy store after so many seconds (bound_waits).
_BOUNDS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def bound_waits(engine: AsyncEngine, seconds: float) -> None:
    """Make ``engine`` give up on a busy store after about ``seconds``: SQLite's busy timeout
    (its file twin's too), PostgreSQL's lock_timeout and statement_timeout, and the wait for
    write_lock. For the API, which answers 503 rather than hold a client past its timeout;
    the worker's engine keeps the long defaults (a send must not fail on a short lock).
    Call it before the engine's first connection: settings apply to connections opened after."""
    sync = engine.sync_engine
    _BOUNDS[sync] = seconds
    event.listen(sync, "connect", _bounded(engine.dialect.name, seconds))
    twin = _TWINS.get(sync)
    if twin is not None:
        event.listen(twin, "connect", _bounded("sqlite", seconds))


def _bounded(dialect: str, seconds: float) -> Any:
    ms = max(1, int(seconds * 1000))

    def on_connect(conn: Any, _record: Any) -> None:
        if dialect == "sqlite":
            cur = conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={ms}")
            cur.close()
        elif dialect == "postgresql":
            # Session settings, outside any transaction (a rolled-back SET would not last).
            conn.run_async(
                lambda raw: raw.execute(f"SET lock_timeout = {ms}; SET statement_timeout = {ms}")
            )

    return on_connect


def sqlite_twin(engine: AsyncEngine) -> Engine | None:
    """A blocking engine on the same SQLite file, for work done whole on one thread; None for
    other databases. Every statement through aiosqlite is a hand-off to its thread and back
    (about 100 us of CPU each here, ~20 per group commit); a batch run on a thread of its own
    pays one. One twin per engine, disposed with it."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    twin = _TWINS.get(engine.sync_engine)
    if twin is None:
        twin = create_engine(
            engine.url.set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=1,
            max_overflow=4,
        )
        event.listen(twin, "connect", _pragmas)
        if engine.sync_engine in _BOUNDS:
            event.listen(twin, "connect", _bounded("sqlite", _BOUNDS[engine.sync_engine]))
        event.listen(engine.sync_engine, "engine_disposed", lambda _: twin.dispose())
        _TWINS[engine.sync_engine] = twin
    return twin


def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


_WRITE_LOCKS: dict[int, asyncio.Lock] = {}


def write_lock(factory: async_sessionmaker[Any]) -> contextlib.AbstractAsyncContextManager[Any]:
    """SQLite allows one writer: queueing writers on an asyncio lock is far faster than
    letting them collide and back off inside SQLite's busy handler. PostgreSQL needs none."""
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return contextlib.nullcontext()
    lock = _WRITE_LOCKS.setdefault(id(bind), asyncio.Lock())
    bound = _BOUNDS.get(bind.sync_engine)
    return lock if bound is None else _bounded_lock(lock, bound)


@contextlib.asynccontextmanager
async def _bounded_lock(lock: asyncio.Lock, seconds: float) -> AsyncIterator[None]:
    # Writers queue here while one waits out a held lock: without a bound the tenth request
    # would wait ten busy timeouts.
    try:
        async with asyncio.timeout(seconds):
            await lock.acquire()
    except TimeoutError:
        raise StoreBusy(f"the store's write lock was busy for {seconds:g} s") from None
    try:
        yield
    finally:
        lock.release()


def dialect_of(session: Any) -> str:
    bind = session.bind
    return str(bind.dialect.name) if bind is not None else ""

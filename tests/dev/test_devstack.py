"""``omni dev`` and ``omni doctor`` as a newcomer meets them: one-line errors naming the
variable for a taken port or a missing database, a dev key valid in the store in use, the
channels doctor reports, and the first message within a minute."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests_store_url import PG_SKIP, PG_URL, database_url

from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import free_port
from orchestrator.config.settings import load_settings
from orchestrator.dev.devstack import ACTIVITY_LOGGERS, dev_api_key, dev_temporal_db, show_activity
from orchestrator.store.db import make_engine, sessions

ROOT = Path(__file__).resolve().parents[2]
OMNI = [sys.executable, "-m", "orchestrator.cli"]


def dev_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DATABASE_URL"))}
    env.update(
        OMNI_DATA_DIR=str(tmp_path / "data"),
        OMNI_API_PORT=str(free_port()),
        OMNI_DEV_TEMPORAL_PORT=str(free_port()),
        OMNI_DEV_UI_PORT=str(free_port()),
        OMNI_DEV_SMTP_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_omni(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OMNI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_a_taken_port_is_one_line_naming_its_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_omni(["dev"], dev_env(tmp_path, OMNI_DEV_UI_PORT=str(port)))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"Temporal UI port {port} is in use (set OMNI_DEV_UI_PORT)" in lines[0]


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'omni.db'}"
    done = run_omni(["dev"], dev_env(tmp_path, DATABASE_URL=url))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open the customer store" in lines[0], done.stderr
    assert "DATABASE_URL" in lines[0] and "Traceback" not in done.stderr


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    base = PG_URL.rsplit("/", 1)[0]
    done = run_omni(["dev"], dev_env(tmp_path, DATABASE_URL=f"{base}/omni_no_such_db_42"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "omni_no_such_db_42" in lines[0], done.stderr
    assert "does not exist" in lines[0]


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
async def test_the_dev_key_is_valid_in_the_store_omni_dev_uses(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sqlite = load_settings({"OMNI_DATA_DIR": str(data)})
    from orchestrator.store.migrate import upgrade_async

    await upgrade_async(sqlite.store.url)
    first = await dev_api_key(sqlite)
    assert await dev_api_key(sqlite) == first  # kept while the store is the same
    async for url in database_url("postgresql", tmp_path):
        pg = load_settings({"OMNI_DATA_DIR": str(data), "DATABASE_URL": url})
        key = await dev_api_key(pg)
        engine = make_engine(url)
        try:
            assert await ApiKeys(sessions(engine)).verify(key) is not None
            assert await ApiKeys(sessions(engine)).verify(first) is None
        finally:
            await engine.dispose()
        assert (data / "dev-api-key").read_text().strip() == key


def test_doctor_reports_the_channels_worker_and_dev_use(tmp_path: Path) -> None:
    env = dev_env(
        tmp_path, OMNI_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", OMNI_RECORD_ONLY="sms,push"
    )
    done = run_omni(["doctor"], env, timeout=120)
    out = done.stdout
    assert done.returncode == 1
    # The shipped scenarios send email: without a provider, the worker would refuse to start.
    assert (
        "FAIL  channel email (omni worker): a scenario uses it; email has no provider: "
        "set OMNI_SMTP_HOST"
    ) in out, out
    outbox = tmp_path / "data" / "recorded"
    assert (
        f"ok    channel sms (omni worker): RECORD-ONLY (OMNI_RECORD_ONLY): messages kept in "
        f"{outbox / 'sms.jsonl'}, never delivered"
    ) in out, out
    assert "off   channel whatsapp (omni worker): no provider, and no scenario uses it" in out
    port = env["OMNI_DEV_SMTP_PORT"]
    assert f"channel email (omni dev): EmailChannel to the SMTP sink on 127.0.0.1:{port}" in out


def zone_at(hour: int) -> str:
    """A time zone where it is about ``hour`` o'clock now (Etc/GMT-3 is three hours ahead)."""
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12
    return f"Etc/GMT{-offset:+d}"


def readme_first_message() -> list[str]:
    """The README's first-message block, as its commands (continuation lines joined)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- first-message", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [c for c in re.sub(r"\\\n\s*", " ", block).splitlines() if c.strip()]


@pytest.mark.parametrize("hour", [2, 13], ids=["at night", "by day"])
def test_first_message_within_a_minute_at_any_hour(tmp_path: Path, hour: int) -> None:
    """The README's commands, verbatim, against `omni dev` in a fresh copy of the repo; the
    shop's zone (the contact has none) puts the customer at 02:00 or 13:00, inside or outside
    welcome_series's quiet hours: the welcome email comes within 60 s either way."""
    for name in ("scenarios", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = dev_env(tmp_path, OMNI_DEFAULT_TIMEZONE=zone_at(hour))
    del env["OMNI_DATA_DIR"]  # the README's `.data/` in the working folder
    send, look = readme_first_message()
    assert send.startswith(".venv/bin/omni send-event") and look.startswith("ls .data/mail/")
    started = time.monotonic()
    dev = subprocess.Popen(
        [".venv/bin/omni", "dev"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    out: list[str] = []
    try:
        assert dev.stdout is not None
        for line in dev.stdout:
            out.append(line)
            if "Ctrl-C stops everything" in line:
                break
        else:
            pytest.fail("omni dev stopped: " + "".join(out))
        sent = subprocess.run(
            ["bash", "-c", send], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "welcome_series/customer-42" in sent.stdout
        while ".eml" not in (listed := subprocess.run(
            ["bash", "-c", look], cwd=tmp_path, capture_output=True, text=True
        )).stdout:  # fmt: skip
            assert time.monotonic() - started < 60, "no mail within 60 s: " + "".join(out)
            time.sleep(0.2)
        eml = next((tmp_path / ".data" / "mail").glob("*.eml")).read_bytes()
        assert b"alex@example.com" in eml
        print(f"first message after {time.monotonic() - started:.1f} s ({listed.stdout.strip()})")
        for line in dev.stdout:  # the send's line follows the SMTP answer
            out.append(line)
            if "sent email" in line:
                break
    finally:
        dev.send_signal(signal.SIGINT)
        rest, _ = dev.communicate(timeout=60)
        out.append(rest)
    text = "".join(out)
    assert "event signed_up" in text and "routed to 1 run(s)" in text, text
    assert "sent email `welcome/hello` · run welcome_series/customer-42" in text, text
    assert "quiet_hours" not in text, text
    log = text.split("Ctrl-C stops everything", 1)[1]  # the banner's sample command aside
    assert "alex@example.com" not in log and "Alex" not in log


def test_a_broken_scenario_is_named_with_file_and_line(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    bad = "scenario: bad\ntrigger: {event: x}\nsteps:\n  - wat: 1h\nsample: {x: {}}\n"
    (scenarios / "bad.yaml").write_text(bad)
    done = run_omni(["dev"], dev_env(tmp_path, OMNI_SCENARIOS_DIR=str(scenarios)))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert "bad.yaml:4" in lines[0], done.stderr


def test_each_customer_store_keeps_its_own_dev_runs(tmp_path: Path) -> None:
    """Runs started against one store would find no contacts in another: switching
    DATABASE_URL switches the dev server's runs with it, and switching back finds them."""

    def runs_db(url: str = "") -> Path:
        env = {"OMNI_DATA_DIR": str(tmp_path)} | ({"DATABASE_URL": url} if url else {})
        return dev_temporal_db(load_settings(env))

    assert runs_db() == tmp_path / "temporal.db"
    pg = runs_db("postgresql://omni:secret@db.internal:5432/shop")
    assert pg.parent == tmp_path and pg != runs_db()
    assert runs_db("postgresql+asyncpg://omni:rotated@db.internal:5432/shop") == pg
    assert runs_db("postgresql://omni@db.internal:5432/other") != pg
    assert runs_db(f"sqlite:///{tmp_path / 'elsewhere.db'}") not in (pg, runs_db())
    assert "secret" not in str(pg) and "db.internal" not in str(pg)


def test_omni_dev_prints_its_activity_as_json_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    loggers = [logging.getLogger(name) for name in ACTIVITY_LOGGERS]
    saved = [(lg, lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    try:
        show_activity(load_settings({"OMNI_LOG_FORMAT": "json"}))
        logging.getLogger("omni.sends").info(
            "sent email `t/x` · run s/customer-1", extra={"workflow_id": "s/customer-1"}
        )
        logging.getLogger("orchestrator.api.reload").info("scenario change accepted: x")
    finally:
        for lg, handlers, propagate, level in saved:
            lg.handlers[:], lg.propagate = handlers, propagate
            lg.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("omni.sends", "sent email `t/x` · run s/customer-1"),
        ("orchestrator.api.reload", "scenario change accepted: x"),
    ]
    assert lines[0]["workflow_id"] == "s/customer-1"

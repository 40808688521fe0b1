"""Outside ``omni dev`` no channel falls back to a local sink: a worker whose scenarios send
by a channel with no provider refuses to start, naming the channel and what to set, unless
OMNI_RECORD_ONLY names it; then its messages are recorded, labelled so, never sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from channels.email import EmailChannel
from channels.recording import RecordingChannel
from channels.unconfigured import UnconfiguredChannel
from orchestrator.api.serve import free_port
from orchestrator.app.clients import load_scenarios
from orchestrator.app.providers import NoProvider, build_channels, channels_sent_by, check_channels
from orchestrator.config.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
OMNI = str(Path(sys.executable).parent / "omni")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without any Omni setting, Temporal on a port nobody serves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DATABASE_URL"))}
    env.update(
        OMNI_DATA_DIR=str(tmp_path / "data"),
        OMNI_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        **extra,
    )
    return env


@pytest.mark.parametrize("entry", [[OMNI, "worker"], [sys.executable, "worker.py"]])
def test_a_worker_without_an_email_provider_refuses_to_start(
    tmp_path: Path, entry: list[str]
) -> None:
    # The shipped scenarios send email, push, Telegram and SMS; nothing but SMS is provided.
    twilio = {
        "OMNI_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "OMNI_TWILIO_AUTH_TOKEN": "token",
        "OMNI_TWILIO_FROM": "+15005550006",
        "OMNI_TWILIO_API_URL": f"http://127.0.0.1:{free_port()}",
        "OMNI_RECORD_ONLY": "push",
    }
    done = subprocess.run(
        entry, env=clean_env(tmp_path, **twilio), cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    err = done.stderr
    assert "refusing to start" in err and "Traceback" not in err, err
    assert "email has no provider: set OMNI_SMTP_HOST" in err, err
    assert "telegram has no provider: set OMNI_TELEGRAM_BOT_TOKEN" in err, err
    assert "add email to OMNI_RECORD_ONLY" in err, err
    # Record-only and provided channels are not complained about.
    assert "push has no provider" not in err and "sms has no provider" not in err, err
    assert not (tmp_path / "data" / "recorded").exists()  # nothing was written anywhere


async def test_record_only_channels_record_and_the_others_are_refused(tmp_path: Path) -> None:
    config = load_settings(
        {"OMNI_DATA_DIR": str(tmp_path), "OMNI_RECORD_ONLY": "email,push,telegram,sms"}
    )
    scenarios = load_scenarios(config)
    channels = build_channels(config)
    assert isinstance(channels["email"], RecordingChannel)
    assert channels["email"].file == tmp_path / "recorded" / "email.jsonl"
    assert isinstance(channels["whatsapp"], UnconfiguredChannel)  # no shipped scenario uses it
    await check_channels(config, scenarios, channels)  # starts
    without_email = load_settings(
        {"OMNI_DATA_DIR": str(tmp_path), "OMNI_RECORD_ONLY": "push,telegram,sms"}
    )
    with pytest.raises(NoProvider, match="email has no provider: set OMNI_SMTP_HOST"):
        await check_channels(without_email, scenarios, build_channels(without_email))


async def test_omni_dev_records_every_channel_without_a_provider(tmp_path: Path) -> None:
    config = load_settings({"OMNI_DATA_DIR": str(tmp_path)})
    channels = build_channels(config, dev=True)
    assert all(isinstance(c, RecordingChannel) for c in channels.values())


async def test_a_sender_only_worker_needs_only_its_own_channel(tmp_path: Path) -> None:
    base = {"OMNI_DATA_DIR": str(tmp_path), "OMNI_SEND_QUEUES": "sms:1,email"}
    config = load_settings({**base, "OMNI_WORKER_SERVES": "sms"})
    scenarios = load_scenarios(config)
    assert channels_sent_by(config, scenarios) == {"sms"}
    main = load_settings({**base, "OMNI_WORKER_SERVES": "workflows"})
    assert channels_sent_by(main, scenarios) == {"push", "telegram"}


def test_record_only_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="OMNI_RECORD_ONLY='sms,fax': unknown channel 'fax'"):
        load_settings({"OMNI_RECORD_ONLY": "sms,fax"})
    smtp = {"OMNI_SMTP_HOST": "127.0.0.1", "OMNI_RECORD_ONLY": "email"}
    with pytest.raises(ValueError, match="OMNI_RECORD_ONLY names email, which has a provider"):
        load_settings(smtp)


async def test_a_send_by_a_channel_without_provider_is_retried_never_recorded(
    tmp_path: Path,
) -> None:
    """A scenario added while the worker runs reaches the unconfigured channel: the send is
    retried as misconfigured, never kept anywhere or logged as sent."""
    from harness import FULL_CONTACT
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from orchestrator.engine.activities import Activities
    from orchestrator.engine.contacts import Contact, InMemoryDirectory
    from orchestrator.engine.messages import SendRequest
    from orchestrator.engine.sendlog import InMemorySendLog

    request = SendRequest(
        key="wf/g0/steps.1/email",
        scenario="s",
        category="marketing",
        step="steps.1",
        channel="email",
        template="t/x",
        customer_id="c1",
        now="2026-11-24T12:00:00+00:00",
        run={"id": "s/c1"},
        trigger={},
        event={},
        sources={"": "{% block subject %}Hi{% endblock %}{% block html %}x{% endblock %}"},
    )

    config = load_settings({"OMNI_DATA_DIR": str(tmp_path)})
    channels = dict(build_channels(config))
    log = InMemorySendLog()
    acts = Activities(
        directory=InMemoryDirectory([Contact.model_validate(FULL_CONTACT)]),
        send_log=log,
        channels=channels,
    )
    with pytest.raises(ApplicationError, match="email has no provider"):
        await ActivityEnvironment().run(acts.send, request)
    entry = await log.get(request.key)
    assert entry is not None and entry.status == "reserved", entry
    assert not (tmp_path / "recorded").exists()
    assert not isinstance(channels["email"], EmailChannel)

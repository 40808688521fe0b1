"""The settings refuse what Omni cannot use, at start, naming every bad variable at once with a
hint, and never show a secret: not in reprs, not in errors, not in logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from odd_text import ODD

from orchestrator.config.redact import protect_logs
from orchestrator.config.settings import SettingsInvalid, load_settings

ROOT = Path(__file__).resolve().parents[2]

#: One wrong value of each kind, and the words its problem must carry.
WRONG = {
    "OMNI_STRICT_EVENTS": ("maybe", "not a boolean; use true or false"),
    "OMNI_CAP_TRANSACTIONAL": ("ture", "not a boolean"),
    "OMNI_API_PORT": ("eighty", "not a whole number"),
    "OMNI_DEV_UI_PORT": ("70000", "less than or equal to 65535"),
    "OMNI_EVENT_LEASE_SECONDS": ("30s", "not a number"),
    "OMNI_API_STORE_DEADLINE_SECONDS": ("-1", "greater than 0"),
    "OMNI_CONSOLE_IDLE_MINUTES": ("inf", "finite number"),
    "OMNI_PUBLIC_URL": ("omni.example.com", "not an http(s) URL"),
    "OMNI_TEMPORAL_UI_URL": ("ftp://ui.example.com", "not an http(s) URL"),
    "OMNI_LOG_FORMAT": ("xml", "'text' or 'json'"),
    "OMNI_SMTP_SECURITY": ("ssl", "'starttls', 'tls' or 'none'"),
    "OMNI_DEFAULT_TIMEZONE": ("Mars/Olympus", "not a time zone"),
    "OMNI_TEMPORAL_ADDRESS": ("localhost", "host:port"),
    "OMNI_FREQUENCY_CAPS": ("lots per day", "not a frequency cap"),
    "OMNI_RECORD_ONLY": ("fax", "unknown channel 'fax'"),
    "OMNI_TEMPORAL_TLS_CA": ("/no/such/ca.pem", "no such file"),
}


def test_every_wrong_variable_is_named_in_one_error() -> None:
    env = {name: value for name, (value, _) in WRONG.items()}
    env["OMNI_SMTP_HOST"] = "smtp.example.com"  # turns the email group (OMNI_SMTP_SECURITY) on
    with pytest.raises(SettingsInvalid) as caught:
        load_settings(env)
    problems = caught.value.problems
    assert len(problems) == len(WRONG), "\n".join(problems)
    for name, (value, hint) in WRONG.items():
        found = [p for p in problems if p.startswith(f"{name}={value!r}: ")]
        assert len(found) == 1 and hint in found[0], (name, problems)
    assert str(caught.value).startswith(f"invalid configuration, nothing started ({len(WRONG)}")


@pytest.mark.parametrize("spelling", ["true", "True", "yes", "on", "1"])
def test_booleans_take_the_usual_spellings(spelling: str) -> None:
    config = load_settings({"OMNI_STRICT_EVENTS": spelling, "OMNI_KEEP_MESSAGES": "off"})
    assert config.api.strict_events is True and config.console.keep_messages is False


def test_a_group_switched_on_names_what_it_still_needs() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        load_settings({"OMNI_DKIM_SELECTOR": "s1", "OMNI_SMTP_HOST": "smtp.example.com"})
    assert sorted(caught.value.problems) == [
        "OMNI_DKIM_DOMAIN is not set: OMNI_DKIM_SELECTOR is set, so it is needed too",
        "OMNI_DKIM_KEY_FILE is not set: OMNI_DKIM_SELECTOR is set, so it is needed too",
    ]


def test_the_dkim_key_is_read_at_start(tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    env = {"OMNI_SMTP_HOST": "smtp.example.com", "OMNI_DKIM_SELECTOR": "s1"}
    env |= {"OMNI_DKIM_DOMAIN": "shop.example", "OMNI_DKIM_KEY_FILE": str(key)}
    email = load_settings(env).email
    assert email is not None and email.dkim is not None
    assert (email.dkim.selector, email.dkim.private_key_pem) == ("s1", key.read_bytes())
    with pytest.raises(SettingsInvalid, match="set OMNI_SMTP_HOST too"):
        load_settings({k: v for k, v in env.items() if k != "OMNI_SMTP_HOST"})


def test_one_variable_feeds_every_group_that_needs_it() -> None:
    config = load_settings(
        {
            "OMNI_POSTAL_ADDRESS": "Shop GmbH, Berlin",
            "OMNI_SMTP_HOST": "smtp.example.com",
            "OMNI_TWILIO_ACCOUNT_SID": "AC1",
            "OMNI_TWILIO_AUTH_TOKEN": "tw-token-123",
            "OMNI_WHATSAPP_FROM": "+15550001111",
        }
    )
    assert config.email is not None and config.email.postal_address == "Shop GmbH, Berlin"
    assert config.api.postal_address == "Shop GmbH, Berlin"
    assert config.sms is not None and config.whatsapp is not None
    tokens = [config.api.twilio_auth_token, config.sms.auth_token, config.whatsapp.auth_token]
    assert [t and t.get_secret_value() for t in tokens] == ["tw-token-123"] * 3
    # Without an SMS account the API still verifies Twilio's webhooks with the token.
    alone = load_settings({"OMNI_TWILIO_AUTH_TOKEN": "tw-token-123"})
    assert alone.sms is None and alone.api.twilio_auth_token is not None


SECRETS = {
    "OMNI_SMTP_HOST": "smtp.example.com",
    "OMNI_SMTP_PASSWORD": "smtp-SECRET-1",
    "OMNI_TELEGRAM_BOT_TOKEN": "4242:tg-SECRET-2",
    "OMNI_TWILIO_ACCOUNT_SID": "AC1",
    "OMNI_TWILIO_AUTH_TOKEN": "tw-SECRET-3",
    "OMNI_TWILIO_FROM": "+15550001111",
    "OMNI_VAPID_PRIVATE_KEY": "vapid-SECRET-4",
    "OMNI_VAPID_SUBJECT": "mailto:ops@shop.example",
    "OMNI_CONSOLE_PASSWORD": "console-SECRET-5",
    "OMNI_TEMPORAL_API_KEY": "temporal-SECRET-6",
    "OMNI_TELEGRAM_SECRET_TOKEN": "hook-SECRET-7",
    "OMNI_TRACKING_SECRET": "tracking-SECRET-8" + "x" * 32,
    "OMNI_API_KEY": "omni_client.SECRET-9",
    "DATABASE_URL": "postgresql://omni:db-SECRET-10@db.internal/omni",
}


def test_secrets_never_show_in_reprs_strs_dumps_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    config = load_settings(SECRETS)
    groups = [getattr(config, name) for name in type(config).model_fields]
    for shown in [repr(config), str(config), config.model_dump_json(), *map(repr, groups)]:
        assert "SECRET" not in shown, shown
    protect_logs(config)
    caplog.set_level(logging.INFO, logger="omni.test")
    logging.getLogger("omni.test").info("settings %s %r", config, config.store)
    secrets = [v.partition(":")[2] or v for k, v in SECRETS.items() if "SECRET" in v]
    logging.getLogger("omni.test").info("raw: %s", " ".join(secrets))
    text = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "SECRET" not in text and "db.internal" in text


def test_a_wrong_secret_is_named_but_not_shown() -> None:
    env = {
        "OMNI_CODEC_KEYS": "k1:c2VjcmV0LVNFQ1JFVA",  # 13 bytes: not an AES key
        "DATABASE_URL": "db-SECRET-pass@nowhere",
        "OMNI_TWILIO_ACCOUNT_SID": "AC1",
        "OMNI_TWILIO_AUTH_TOKEN": "tw-SECRET",
        "OMNI_TWILIO_API_URL": "not a url",
    }
    with pytest.raises(SettingsInvalid) as caught:
        load_settings(env)
    message = str(caught.value)
    assert "SECRET" not in message and "c2VjcmV0" not in message
    assert "OMNI_CODEC_KEYS=(hidden): key 'k1' must be 16, 24 or 32 bytes" in message
    assert "DATABASE_URL=(hidden): not a database URL" in message
    assert "OMNI_TWILIO_API_URL='not a url': not an http(s) URL" in message


@pytest.mark.parametrize("odd", [*ODD, "<b>8000</b>", "8000\r\nOMNI_FAKE=1", "9" * 5000])
def test_odd_values_are_quoted_in_the_error(odd: str) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        load_settings({"OMNI_API_PORT": odd})
    (problem,) = caught.value.problems
    assert problem.startswith(f"OMNI_API_PORT={odd!r}: ")
    assert "\r" not in problem and "\n" not in problem  # one line per problem, whatever came


def cli_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNI_", "DATABASE_URL"))}
    return {**env, **variables}


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "orchestrator.cli", "validate", "scenarios"],
        [sys.executable, "-m", "orchestrator.cli", "worker"],
        [sys.executable, "worker.py"],
    ],
)
def test_processes_refuse_to_start_with_one_clear_error(command: list[str]) -> None:
    env = cli_env(
        OMNI_STRICT_EVENTS="maybe", OMNI_API_PORT="eighty", OMNI_SMTP_PASSWORD="pw-SECRET-1"
    )
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "OMNI_STRICT_EVENTS='maybe': not a boolean" in done.stderr
    assert "OMNI_API_PORT='eighty': not a whole number" in done.stderr
    assert "SECRET" not in done.stderr + done.stdout

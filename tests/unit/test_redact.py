"""Secrets masked in text and log records, whatever logger, level or traceback carries them."""

from __future__ import annotations

import logging

import pytest

from orchestrator.config.redact import protect_logs, redact, secret_values
from orchestrator.config.settings import load_settings

ENV = {
    "DATABASE_URL": "postgresql://omni:db-pass-R1@db.internal/omni",
    "OMNI_TELEGRAM_BOT_TOKEN": "4242:bot-R2-token",
    "OMNI_TRACKING_SECRET": "tracking-R3-" + "z" * 32,
}


def test_redact_masks_raw_and_url_encoded_forms() -> None:
    values = secret_values(load_settings(ENV))
    text = "GET https://api.telegram.org/bot4242%3Abot-R2-token/getMe db-pass-R1 4242:bot-R2-token"
    assert redact(text, values) == (
        "GET https://api.telegram.org/bot[redacted]/getMe [redacted] [redacted]"
    )


def test_log_records_are_scrubbed_when_created(caplog: pytest.LogCaptureFixture) -> None:
    protect_logs(load_settings(ENV))
    caplog.set_level(logging.DEBUG, logger="some.library")
    log = logging.getLogger("some.library")
    log.debug("calling %s", "https://x/bot4242:bot-R2-token/sendMessage")
    try:
        raise RuntimeError("connect failed for postgresql://omni:db-pass-R1@db.internal")
    except RuntimeError:
        log.exception("store down")
    shown = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "bot-R2" not in shown and "db-pass-R1" not in shown
    assert "https://x/bot[redacted]/sendMessage" in shown and "RuntimeError" in shown

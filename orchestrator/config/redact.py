"""Secrets out of logs and printed errors.

Two layers. The processes Omni starts log HTTP clients (httpx, httpcore) at WARNING only:
httpx logs every request URL at INFO, and the Bot API carries the bot token in its URLs.
And every log record is scrubbed of the configured secret values when it is created, whatever
logger or level it comes from (a library's debug line, an exception's traceback), so a handler
never sees them: ``protect_logs`` installs this once per process; ``redact`` does the same for
text Omni prints (``omni doctor``, CLI errors).
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orchestrator.config.logformat import use_format
from orchestrator.config.worker_config import WorkerConfig

MASK = "[redacted]"
#: Shorter values are not secrets worth the name, and masking them would mangle logs.
MIN_LENGTH = 6
#: Loggers that describe every HTTP request at INFO (URLs may carry credentials).
CHATTY = ("httpx", "httpcore")

_values: set[str] = set()
_installed = False


def secret_values(config: WorkerConfig) -> list[str]:
    """Every secret in the configuration, as it may appear in text (raw, URL-encoded)."""
    found = [
        config.temporal.api_key,
        config.tracking.secret,
        *config.tracking.previous,
        config.api.telegram_secret_token,
        config.api.twilio_auth_token,
        *config.codec.keys,
        *(entry.partition(":")[2] for entry in config.codec.keys),
    ]
    try:
        found.append(make_url(config.store.url).password)
    except (ArgumentError, ValueError):  # unparsable: the whole URL may be the secret
        found.append(config.store.database_url)
    if config.email is not None:
        found.append(config.email.password)
    if config.telegram is not None:
        found += [config.telegram.token, config.telegram.token.partition(":")[2]]
    if config.sms is not None:
        s = config.sms
        basic = base64.b64encode(f"{s.account_sid}:{s.auth_token}".encode()).decode()
        found += [s.auth_token, basic]
    if config.push is not None:
        key = config.push.vapid_private_key
        found += [key, *(line.strip() for line in key.splitlines())]
    return _variants(str(v) for v in found if v)


def _variants(values: Iterable[str]) -> list[str]:
    out = {form for v in values for form in (v, quote(v, safe=""), quote_plus(v), quote(v))}
    # Longest first: a secret that contains another is masked whole.
    keep = (v for v in out if len(v) >= MIN_LENGTH and not v.startswith("-----"))
    return sorted(keep, key=len, reverse=True)


def redact(text: str, values: Iterable[str] | None = None) -> str:
    """``text`` with every secret (the given ones, or those registered by protect_logs)
    replaced by [redacted]."""
    for value in (
        _variants(values) if values is not None else sorted(_values, key=len, reverse=True)
    ):
        if value in text:
            text = text.replace(value, MASK)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to the handler's error path
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            record.exc_info, record.exc_text = None, clean


def protect_logs(config: WorkerConfig) -> None:
    """Scrub ``config``'s secrets from every log record this process creates from now on
    (and write records in ``OMNI_LOG_FORMAT``)."""
    global _installed
    use_format(config.observability.log_format)
    _values.update(secret_values(config))
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _values:
            _scrub(record)
        return record

    logging.setLogRecordFactory(scrubbed)
    _installed = True


def configure_logging(level: int = logging.INFO) -> None:
    """Logging for the processes Omni starts (worker, API, dev stack, codec server)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))

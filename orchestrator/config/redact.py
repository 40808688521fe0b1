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
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import BaseModel, SecretStr

from orchestrator.config.logformat import use_format
from orchestrator.config.settings import Settings

MASK = "[redacted]"
#: Shorter values are not secrets worth the name, and masking them would mangle logs.
MIN_LENGTH = 6
#: Loggers that describe every HTTP request at INFO (URLs may carry credentials).
CHATTY = ("httpx", "httpcore")

_values: set[str] = set()
_installed = False


def secret_values(config: Settings) -> list[str]:
    """Every secret in the configuration (each ``SecretStr`` in it, wherever it is), as it
    may appear in text: raw, URL-encoded, the part after an ``id:``, one line of a PEM key,
    inside an HTTP Basic header. Of the database URL only the password is a secret."""
    found: list[str] = []
    for value in _secrets(config.model_copy(update={"store": None})):
        found += [value, value.partition(":")[2], *(line.strip() for line in value.splitlines())]
    password = urlsplit(config.store.url).password
    if password:
        found += [password, unquote(password)]
    if config.sms is not None:
        s = config.sms
        account = f"{s.account_sid}:{s.auth_token.get_secret_value()}"
        found.append(base64.b64encode(account.encode()).decode())
    return _variants(v for v in found if v)


def _secrets(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets(getattr(value, name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _secrets(item)


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


def protect_logs(config: Settings) -> None:
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

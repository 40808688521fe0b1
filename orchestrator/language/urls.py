"""Which URLs a message may carry: absolute http(s) URLs with a host, nothing else.

``javascript:`` and ``data:`` URLs run code when clicked; ``//host`` and relative URLs resolve
against whatever page or client shows the message; other schemes open other applications. A
template that would put one in a link, a push notification or a button is a template error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class UnsafeUrl(ValueError):
    """A URL that must not reach a message; the text says why."""


def url_problem(url: Any) -> str | None:
    """Why ``url`` cannot be a link in a message, or None when it is an absolute http(s) URL."""
    if not isinstance(url, str):
        return f"a URL must be text, not {type(url).__name__}"
    shown = url if len(url) <= 80 else url[:77] + "..."
    if not url:
        return "the URL is empty"
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        return f"{shown!r} contains spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"{shown!r} is not a valid URL"
    if url.startswith("//"):
        return f"{shown!r} is protocol-relative; write https://..."
    if not parts.scheme:
        return f"{shown!r} is relative; links must be absolute https:// URLs"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{parts.scheme}: URLs are not allowed, only http(s) ({shown!r})"
    if not host:
        return f"{shown!r} has no host"
    if "@" in parts.netloc:
        return f"{shown!r} carries a user name before its host"
    return None


def checked_url(url: Any, where: str = "link()") -> str:
    """``url`` if it may be a link; otherwise UnsafeUrl naming ``where`` and the reason."""
    problem = url_problem(url)
    if problem is not None:
        raise UnsafeUrl(f"{where}: {problem}")
    return str(url)

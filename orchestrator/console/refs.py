"""Opaque references in URLs: customer ids and send keys are encrypted (Fernet, with a key
derived from the console's secret), so no customer data appears in a URL, a log or a Referer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken

from orchestrator.console.state import Console


def _fernet(console: Console) -> Fernet:
    key = hmac.new(console.secret, b"omni console refs", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def ref(console: Console, kind: str, value: str) -> str:
    return _fernet(console).encrypt(json.dumps([kind, value]).encode()).decode()


def unref(console: Console, kind: str, token: str) -> str | None:
    """The value, or None for a reference that is forged, expired or of another kind."""
    try:
        raw = _fernet(console).decrypt(token, ttl=console.settings.session_hours * 3600)
        found_kind, value = json.loads(raw)
    except (InvalidToken, ValueError, TypeError):
        return None
    return str(value) if found_kind == kind else None

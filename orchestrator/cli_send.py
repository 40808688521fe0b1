"""``omni send-event``: one event posted to a running API over HTTP.

A client of the API, not a part of Omni's process: it imports the standard library only (the
worker's modules take seconds to import, the API answers in milliseconds). It reads its own
client settings and the two server settings that locate the local API and its dev key —
``OMNI_API_PORT`` and ``OMNI_DATA_DIR``, with the defaults of ``ListenSettings`` and
``StoreSettings`` (tests/test_cli_send.py holds them equal)."""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8000
DEFAULT_DATA_DIR = Path(".data")


def load_json(text: str, what: str) -> Any:
    """``text`` as JSON, or the JSON file it names."""
    source = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is neither a JSON file nor JSON: {exc}") from None


def api_base(given: str | None) -> str:
    """--api, else OMNI_API_URL, else the API ``omni dev`` serves on OMNI_API_PORT."""
    if given or os.environ.get("OMNI_API_URL"):
        return (given or os.environ["OMNI_API_URL"]).rstrip("/")
    port = os.environ.get("OMNI_API_PORT") or str(DEFAULT_PORT)
    if not port.isdigit():
        raise ValueError(f"OMNI_API_PORT={port!r}: a port number")
    return f"http://127.0.0.1:{port}"


def api_key() -> str:
    """OMNI_API_KEY, else the key ``omni dev`` keeps in its data folder."""
    key = os.environ.get("OMNI_API_KEY")
    if key:
        return key
    path = Path(os.environ.get("OMNI_DATA_DIR") or DEFAULT_DATA_DIR) / "dev-api-key"
    if not path.exists():
        raise ValueError("set OMNI_API_KEY (create one with 'omni api-key create NAME')")
    return path.read_text(encoding="utf-8").strip()


def send_event(args: argparse.Namespace) -> int:
    data = load_json(args.data, "--data")
    if not isinstance(data, dict):
        raise ValueError("--data must be a JSON object")
    body: dict[str, Any] = {
        "name": args.name,
        "customer_id": args.customer,
        "event_id": args.event_id or str(uuid.uuid4()),
        "data": data,
        "occurred_at": datetime.now().astimezone().isoformat(),
    }
    if args.contact:
        body["contact"] = load_json(args.contact, "--contact")
    base = api_base(args.api)
    request = urllib.request.Request(
        f"{base}/v1/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {api_key()}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as exc:  # 4xx/5xx: the body says why
        status, text = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ValueError(f"cannot reach the API at {base}: {exc}; is 'make run' up?") from None
    try:
        print(json.dumps(json.loads(text), indent=2))
    except ValueError:
        print(f"HTTP {status}: {text.decode(errors='replace')}")
    return 0 if status == 202 else 1

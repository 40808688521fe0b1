"""``omni send-event``: one event posted to a running API over HTTP.

A client of the API, not a part of Omni's process: besides the standard library it imports
the settings only (the worker's modules take seconds to import, the API answers in
milliseconds). Its own variables (``OMNI_API_URL``, ``OMNI_API_KEY``) are the settings'
``client`` group; without them it finds the API ``omni dev`` serves by the server's own
settings, ``OMNI_API_PORT`` and ``OMNI_DATA_DIR`` (the dev key is kept there)."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.config.settings import Settings, load_settings


def load_json(text: str, what: str) -> Any:
    """``text`` as JSON, or the JSON file it names."""
    source = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is neither a JSON file nor JSON: {exc}") from None


def api_base(given: str | None, settings: Settings) -> str:
    """--api, else OMNI_API_URL, else the API ``omni dev`` serves on OMNI_API_PORT."""
    chosen = given or settings.client.api_url
    if chosen:
        return chosen.rstrip("/")
    return f"http://127.0.0.1:{settings.listen.port}"


def api_key(settings: Settings) -> str:
    """OMNI_API_KEY, else the key ``omni dev`` keeps in its data folder."""
    if settings.client.api_key is not None:
        return settings.client.api_key.get_secret_value()
    path = settings.store.data_dir / "dev-api-key"
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
    settings = load_settings()
    base = api_base(args.api, settings)
    request = urllib.request.Request(
        f"{base}/v1/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {api_key(settings)}",
            "Content-Type": "application/json",
        },
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

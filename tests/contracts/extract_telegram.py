"""Carry the Bot API methods and types the tests use into telegram_subset.json.

Run once after updating ../shared/contracts/telegram_bot_api.json:
    .venv/bin/python tests/contracts/extract_telegram.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "contracts" / "telegram_bot_api.json"
METHODS = ("getMe", "sendMessage", "getUpdates", "deleteWebhook", "setWebhook")
TYPES = ("InlineKeyboardMarkup", "InlineKeyboardButton", "LinkPreviewOptions")


def main() -> None:
    spec = json.loads(SOURCE.read_text(encoding="utf-8"))

    def fields(entry: dict[str, Any]) -> list[dict[str, object]]:
        return [
            {"name": f["name"], "types": f["types"], "required": f["required"]}
            for f in entry.get("fields", [])
        ]

    subset = {
        "source": f"{spec['version']} ({spec['release_date']})",
        "methods": {m: fields(spec["methods"][m]) for m in METHODS},
        "types": {t: fields(spec["types"][t]) for t in TYPES},
    }
    (HERE / "telegram_subset.json").write_text(
        json.dumps(subset, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()

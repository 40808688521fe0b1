"""Carry the small part of Twilio's OpenAPI spec the tests need into twilio_subset.json.

Run once after updating ../shared/contracts/twilio_api_v2010.json:
    .venv/bin/python tests/contracts/extract_twilio.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "contracts" / "twilio_api_v2010.json"


def main() -> None:
    spec = json.loads(SOURCE.read_text(encoding="utf-8"))
    messages = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    create = messages["post"]
    listing = [p["name"] for p in messages["get"]["parameters"] if p.get("in") == "query"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    fields = {name: prop.get("type", "string") for name, prop in form["properties"].items()}
    # The spec's own constraints on values (ContentSid ^HX..., MessagingServiceSid ^MG...).
    constraints = {
        name: {k: prop[k] for k in ("pattern", "minLength", "maxLength") if k in prop}
        for name, prop in form["properties"].items()
        if any(k in prop for k in ("pattern", "minLength", "maxLength"))
    }
    subset = {
        "source": "twilio/twilio-oai 2.6.7, twilio_api_v2010.json",
        "createMessage": {
            "path": "/2010-04-01/Accounts/{AccountSid}/Messages.json",
            "required": form.get("required", []),
            "fields": fields,
            "constraints": constraints,
        },
        "fetchAccount": {"path": "/2010-04-01/Accounts/{Sid}.json"},
        "listMessage": {
            "path": "/2010-04-01/Accounts/{AccountSid}/Messages.json",
            "query": listing,
        },
    }
    (HERE / "twilio_subset.json").write_text(json.dumps(subset, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""The documented sample context every template and condition is checked against.

``omni validate`` renders each template with this contact, the scenario's ``sample:`` event data
and a sample run, under StrictUndefined: a misspelt variable fails validation, not a send.
"""

from __future__ import annotations

from typing import Any

SAMPLE_CONTACT: dict[str, Any] = {
    "id": "customer-42",
    "first_name": "Alex",
    "last_name": "Doe",
    "email": "alex@example.com",
    "phone": "+15005550006",
    "telegram_chat_id": "100200300",
    "push_subscriptions": [
        {"endpoint": "https://push.example/sub/1", "keys": {"p256dh": "key", "auth": "auth"}}
    ],
    "timezone": "Europe/Berlin",
    "locale": "en",
    "consents": {"email": True, "push": True, "telegram": True, "sms": True},
    "attributes": {},
}


def sample_run(scenario_id: str, step: str = "steps.1") -> dict[str, Any]:
    return {"id": f"{scenario_id}/customer-42", "scenario": scenario_id, "step": step}

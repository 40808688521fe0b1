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
    "whatsapp": "+15005550006",
    "push_subscriptions": [
        {
            "endpoint": "https://push.example/sub/1",
            # Shaped like a browser's keys (a 65-byte point, a 16-byte secret): contacts check.
            "keys": {
                "p256dh": (
                    "BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQl"
                    "JicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
                ),
                "auth": "AAECAwQFBgcICQoLDA0ODw",
            },
        }
    ],
    "timezone": "Europe/Berlin",
    "locale": "en",
    "consents": {"email": True, "push": True, "telegram": True, "sms": True, "whatsapp": True},
    "attributes": {},
}


def sample_run(scenario_id: str, step: str = "steps.1") -> dict[str, Any]:
    return {"id": f"{scenario_id}/customer-42", "scenario": scenario_id, "step": step}


#: ``sample: {contact: {...}}`` describes the sample contact instead of an event's data.
CONTACT_SAMPLE = "contact"


def sample_contact(samples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The documented sample contact with the scenario's ``sample: {contact: ...}`` on top
    (attributes, locale, timezone, names): ``contact.attributes.birthday`` validates when the
    scenario's sample contact has it."""
    own = samples.get(CONTACT_SAMPLE) or {}
    contact = dict(SAMPLE_CONTACT, **{k: v for k, v in own.items() if k != "attributes"})
    contact["attributes"] = dict(SAMPLE_CONTACT["attributes"], **(own.get("attributes") or {}))
    return contact

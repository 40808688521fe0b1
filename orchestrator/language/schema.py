"""JSON Schema of the scenario format, for editor autocompletion (``omni schema``).

Built from the parser's own key tuples so the two cannot drift apart; the validator
(``omni validate``) remains the authority on everything a schema cannot express."""

from __future__ import annotations

from typing import Any

from orchestrator.language.best_time import BEST_TIME_KEYS
from orchestrator.language.content_templates import content_schema
from orchestrator.language.digest import COLLECT_DOC, collect_arg
from orchestrator.language.durations import DURATION_HINT
from orchestrator.language.model import CHANNELS, REACTIONS
from orchestrator.language.names import NAME_MAX
from orchestrator.language.parse_base import (
    COLLECT_KEYS,
    LOCAL_TIME_KEYS,
    MATCH_KEYS,
    QUIET_KEYS,
    STEP_KEYS,
    TOP_KEYS,
    TRIGGER_KEYS,
)
from orchestrator.language.schema_learning import (
    best_time_keys,
    experiment_keys,
    ladder_options,
    split_arg,
)

DURATION = r"^\s*(\d+\s*[wdhms]\s*)+$"
TEMPLATE = r"^[a-z0-9_]+(/[a-z0-9_]+)+$"
EVENT = r"^[a-z][a-z0-9_.]*$"
WINDOW = r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"
CLOCK = r"^([01]?\d|2[0-3]):[0-5]\d$"
CAP = r"^\s*\d+\s+(\w+\s+)?(messages?\s+)?per\s+\S+\s*$"


def _obj(
    props: dict[str, Any], required: list[str] | None = None, description: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _step(
    kind: str, arg: dict[str, Any], extra: dict[str, Any] | None = None, description: str = ""
) -> dict[str, Any]:
    name = {
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX,
        "pattern": "^[^\\n]+$",
        "description": "The step's name in the console and the Temporal UI, e.g. Reminder ladder",
    }
    props = {kind: arg, **(extra or {}), "name": name}
    assert set(props) == set(STEP_KEYS[kind]), kind
    return _obj(props, [kind], description)


def scenario_schema() -> dict[str, Any]:
    channel = {"enum": list(CHANNELS)}
    match = {
        "oneOf": [
            {"type": "string", "pattern": EVENT},
            _obj(
                {"event": {"type": "string", "pattern": EVENT}, "when": _ref("condition")},
                ["event"],
            ),
        ]
    }
    rung = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            **{c: _ref("template") for c in CHANNELS},
            "wait": _ref("duration"),
            **best_time_keys(_ref("duration")),
        },
        "description": "One channel and its template; 'wait' for a reaction before the next",
    }
    send = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {c: _ref("template") for c in CHANNELS},
            },
            _obj(
                {
                    "first_of": {"type": "array", "items": channel, "minItems": 1},
                    "template": _ref("template"),
                },
                ["first_of", "template"],
            ),
        ]
    }
    steps = {"type": "array", "minItems": 1, "items": _ref("step")}
    step_kinds = [
        _step("wait", _ref("duration"), description="Sleep, e.g. wait: 1h"),
        _step(
            "wait_until",
            {
                "oneOf": [
                    {"type": "string", "description": "e.g. webinar.starts_at - 24h"},
                    _obj(
                        {
                            "time": {
                                "type": "string",
                                "pattern": CLOCK,
                                "description": "wall-clock HH:MM in the customer's time zone",
                            },
                            "date": {
                                "type": "string",
                                "description": "a timestamp or YYYY-MM-DD field, e.g. "
                                "contact.attributes.birthday (its next anniversary); "
                                "default: the next such time",
                            },
                            "days": {
                                "type": "integer",
                                "minimum": -366,
                                "maximum": 366,
                                "description": "calendar days to shift the date, e.g. -1",
                            },
                        },
                        ["time"],
                        'e.g. {time: "10:00", date: contact.attributes.birthday}',
                    ),
                ]
            },
            {"late": {"enum": ["skip", "send"]}},
        ),
        _step(
            "send",
            send,
            {
                "quiet_hours": {
                    "enum": ["apply", "ignore"],
                    "description": "ignore: a send that answers the trigger at once (no "
                    "step waits before it) goes inside the quiet hours",
                },
                **best_time_keys(_ref("duration")),
            },
            description="send: {email: welcome/hello}",
        ),
        _step(
            "escalate",
            {"type": "array", "items": rung, "minItems": 1},
            ladder_options(_ref("duration")),
            description="A ladder that stops at the first reaction",
        ),
        _step(
            "split",
            split_arg(_ref("steps")),
            description="A/B: each customer takes one named variant (stable per customer)",
        ),
        _step("if", _ref("condition"), {"then": _ref("steps"), "else": _ref("steps")}),
        _step(
            "wait_for",
            _obj(
                {
                    "event": {
                        "oneOf": [
                            {"type": "string", "pattern": EVENT},
                            {"type": "array", "items": {"type": "string", "pattern": EVENT}},
                        ]
                    },
                    "when": _ref("condition"),
                    "timeout": _ref("duration"),
                },
                ["event", "timeout"],
            ),
            {"on_event": _ref("steps"), "on_timeout": _ref("steps")},
        ),
        _step("stop", {"type": ["string", "null"]}, description="End the run here"),
        _step("collect", collect_arg(EVENT, _ref("duration")), description=COLLECT_DOC),
    ]
    top: dict[str, Any] = {
        "scenario": {
            "type": "string",
            "pattern": r"^[a-z][a-z0-9_]*$",
            "description": "The scenario id, e.g. abandoned_cart",
        },
        "title": {"type": "string"},
        "description": {"type": "string"},
        "topic": {
            "type": "string",
            "pattern": r"^[a-z][a-z0-9_]{0,63}$",
            "description": "What the messages are about, e.g. cart_reminders: a topic the "
            "customer may turn off in the preference center (marketing only)",
        },
        "category": {
            "enum": ["marketing", "transactional"],
            "description": "marketing needs consent per channel (default)",
        },
        "trigger": {
            "oneOf": [
                {"type": "string", "pattern": EVENT},
                _obj(
                    {
                        "event": {"type": "string", "pattern": EVENT},
                        "when": _ref("condition"),
                        "per": {
                            "type": "string",
                            "description": "e.g. cart.id; default: the customer",
                        },
                        "again": {"enum": ["restart", "ignore", "signal"]},
                        "cooldown": {
                            **_ref("duration"),
                            "description": "at most one run per customer and key per this "
                            "long, counted from the run's start, e.g. 7d",
                        },
                        "spread": {
                            **_ref("duration"),
                            "description": "start each run up to this long after its event, "
                            "so a burst does not send at once, e.g. 15m (at most 24h)",
                        },
                    },
                    ["event"],
                ),
            ],
            "description": "The event that starts a run",
        },
        "goal": {
            "oneOf": [match, {"type": "array", "items": match}],
            "description": "Events that end the run as converted, e.g. order_placed",
        },
        "exit": {
            "oneOf": [match, {"type": "array", "items": match}],
            "description": "Events that end the run, not converted",
        },
        "reaction": {
            "type": "array",
            "items": {"enum": list(REACTIONS)},
            "description": "What stops an escalation ladder",
        },
        "quiet_hours": {
            "oneOf": [
                {"type": "string", "pattern": WINDOW},
                _obj(
                    {
                        "window": {"type": "string", "pattern": WINDOW},
                        "action": {"enum": ["wait", "skip"]},
                    },
                    ["window"],
                ),
            ],
            "description": "e.g. '21:00-09:00' in the customer's time zone",
        },
        "frequency_cap": {
            "oneOf": [
                {"type": "string", "pattern": CAP},
                {"type": "array", "items": {"type": "string", "pattern": CAP}},
            ],
            "description": "e.g. '3 per 24h' or '1 sms per 7d'",
        },
        **experiment_keys(_ref("duration")),
        "sample": {
            "type": "object",
            "additionalProperties": {"type": "object"},
            "properties": {
                "contact": {
                    "type": "object",
                    "description": "The sample contact (attributes, locale, timezone, ...) "
                    "on top of the documented one",
                }
            },
            "description": "Example data per event name (the event contract), and "
            "'contact', for validate and simulate",
        },
        "steps": _ref("steps"),
    }
    assert set(top) == set(TOP_KEYS)
    assert set(top["trigger"]["oneOf"][1]["properties"]) == set(TRIGGER_KEYS)
    assert set(match["oneOf"][1]["properties"]) == set(MATCH_KEYS)
    assert set(top["quiet_hours"]["oneOf"][1]["properties"]) == set(QUIET_KEYS)
    assert set(step_kinds[-1]["properties"]["collect"]["properties"]) == set(COLLECT_KEYS)
    local = step_kinds[1]["properties"]["wait_until"]["oneOf"][1]["properties"]
    assert set(local) == set(LOCAL_TIME_KEYS)
    assert set(best_time_keys(_ref("duration"))) == set(BEST_TIME_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:omni:scenario",
        "title": "Omni scenario",
        **_obj(top, ["scenario", "trigger", "steps"]),
        "$defs": {
            "duration": {"type": "string", "pattern": DURATION, "description": DURATION_HINT},
            "template": {
                "type": "string",
                "pattern": TEMPLATE,
                "description": "folder/message under templates/",
            },
            "condition": {
                "type": ["string", "boolean"],
                "description": "A Jinja2 expression, e.g. cart.total > 0",
            },
            "step": {"oneOf": step_kinds},
            # Not a scenario key: templates/<name>/whatsapp[.<locale>].yaml (--whatsapp).
            "whatsapp_content": content_schema(),
            "steps": steps,
        },
    }


def whatsapp_schema() -> dict[str, Any]:
    """JSON Schema of ``templates/<name>/whatsapp[.<locale>].yaml`` (``omni schema --whatsapp``)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:omni:whatsapp-content",
        "title": "Omni WhatsApp template (approved, Twilio Content API)",
        **content_schema(),
    }

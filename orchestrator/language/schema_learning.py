"""The JSON Schema parts of learning and experiments (see ``schema.py``)."""

from __future__ import annotations

from typing import Any

from orchestrator.language.model import CHANNELS

SHARE = r"^\s*\d{1,2}(\.\d+)?\s*%\s*$"
PRICE = r"^\s*(\d+(\.\d+)?|\.\d+)\s*(per\s+(message|segment))?\s*$"
VARIANT = r"^[a-z][a-z0-9_]*$"


def ladder_options(ref: dict[str, str]) -> dict[str, Any]:
    """``order``, ``cost`` and ``value`` beside ``escalate``; ``ref``: the duration."""
    price = {
        "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": PRICE}],
        "description": "e.g. 0.05, '0.05 per message' or (SMS) '0.08 per segment'",
    }
    return {
        "order": {
            "enum": ["fixed", "learned"],
            "description": "fixed: the rungs as written (default); learned: this customer's "
            "likeliest channel first (their reactions and a shop-wide prior)",
        },
        "cost": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {c: price for c in CHANNELS},
            "description": "price of one message per channel, e.g. {sms: 0.08 per segment}; "
            "a rung whose reaction chance × value is below its cost is skipped",
        },
        "value": {
            "type": "string",
            "description": "what one reaction is worth, e.g. cart.total (needed by cost)",
        },
    }


def best_time_keys(duration: dict[str, str]) -> dict[str, Any]:
    """``at``, ``within`` and ``fallback`` beside a send or inside a ladder rung."""
    return {
        "at": {
            "enum": ["best_time"],
            "description": "best_time: hold the message for the hour this customer is "
            "likeliest to react (their reactions, shrunk toward the shop's)",
        },
        "within": {
            **duration,
            "description": "with at: best_time, the longest hold (1h to 7d, default 24h)",
        },
        "fallback": {
            "oneOf": [
                {"const": "now"},
                {"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$"},
            ],
            "description": "with at: best_time and nothing to learn from: now (default) or a "
            'local time, e.g. "10:00"',
        },
    }


def split_arg(steps: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "minProperties": 2,
        "propertyNames": {"pattern": VARIANT},
        "additionalProperties": steps,
    }


def experiment_keys(duration: dict[str, str]) -> dict[str, Any]:
    return {
        "holdout": {
            "type": "string",
            "pattern": SHARE,
            "description": "share of customers who get nothing (the baseline the uplift is "
            "measured against), e.g. 10%",
        },
        "goal_window": {
            **duration,
            "description": "with a holdout or split: how long every run counts its goal, "
            "from its trigger (default 7d)",
        },
    }

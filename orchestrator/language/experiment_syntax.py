"""The phrases of learning and experiments: a channel's cost and a holdout share."""

from __future__ import annotations

import math
import re
from typing import Any

from jinja2 import Undefined

from orchestrator.language.expressions import ExpressionError, evaluate
from orchestrator.language.model import RungCost
from orchestrator.language.policy_syntax import PolicyError

_COST = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:per\s+(message|segment))?\s*$")
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
COST_HINT = (
    "write the price of one message, e.g. 0.05 or '0.05 per message', or for SMS "
    "'0.08 per segment'; no currency sign: it is in the currency of 'value'"
)
HOLDOUT_HINT = "write a percentage of customers, e.g. holdout: 10%"
#: Names a variant may take (they appear in the console and the run's records).
VARIANT_FORM = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_cost(value: Any, channel: str) -> RungCost:
    """``0.05``, ``0.05 per message`` or (SMS only) ``0.08 per segment``."""
    if isinstance(value, bool):
        raise PolicyError(f"{value!r} is not a price", COST_HINT)
    if isinstance(value, int | float):
        amount, per = float(value), "message"
    else:
        match = _COST.match(value) if isinstance(value, str) else None
        if not match:
            raise PolicyError(f"{value!r} is not a price", COST_HINT)
        amount, per = float(match.group(1)), match.group(2) or "message"
    if not math.isfinite(amount) or amount < 0:
        raise PolicyError(f"a price cannot be {value!r}", COST_HINT)
    if per == "segment" and channel != "sms":
        raise PolicyError(
            f"{channel} messages have no segments", f"write a price per message for {channel}"
        )
    return RungCost(amount, per)


def parse_share(value: Any) -> float:
    """``10%`` -> 10.0; more than 0 and less than 100."""
    match = _SHARE.match(value) if isinstance(value, str) else None
    if not match:
        raise PolicyError(f"holdout {value!r} is not a percentage", HOLDOUT_HINT)
    share = float(match.group(1))
    if not 0 < share < 100:
        raise PolicyError(
            f"holdout must be more than 0% and less than 100%, not {value!r}",
            "a holdout of a few percent (5-20%) is usual: "
            "those customers get nothing, the rest get the scenario",
        )
    return share


def worth(source: str, context: dict[str, Any]) -> float:
    """The ``value:`` of a ladder on real data: a number of at least 0 (numeric text such as
    ``"42.50"`` counts); ExpressionError otherwise."""
    found = evaluate(source, context)
    if isinstance(found, Undefined):
        raise ExpressionError(f"value: {source.strip()} is missing in the event")
    try:
        amount = float(found) if not isinstance(found, bool) else math.nan
    except (TypeError, ValueError):
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise ExpressionError(f"value: {source.strip()} is {found!r}, not an amount")
    return amount

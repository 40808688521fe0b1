"""Search attributes engineers filter runs by in the Temporal UI (never PII)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SCENARIO = SearchAttributeKey.for_keyword("OmniScenario")
VERSION = SearchAttributeKey.for_keyword("OmniScenarioVersion")
CUSTOMER = SearchAttributeKey.for_keyword("OmniCustomerId")
STEP = SearchAttributeKey.for_keyword("OmniStep")
LAST_CHANNEL = SearchAttributeKey.for_keyword("OmniLastChannel")
OUTCOME = SearchAttributeKey.for_keyword("OmniOutcome")

ALL = (SCENARIO, VERSION, CUSTOMER, STEP, LAST_CHANNEL, OUTCOME)

"""Prometheus metrics (prometheus-client, default registry): what the API and the worker count.

Labels stay few and bounded (scenario ids, channel names, status and reason codes, provider
adapter names): never a customer, an address or a key. ``docs/operations.md`` lists the alerts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram
from temporalio import activity

from orchestrator.engine.messages import SendRequest, SendResult
from orchestrator.engine.send_lines import log, send_line

EVENTS = Counter(
    "omni_events",
    "Events received by POST /v1/events, by status (accepted, duplicate, rejected) and reason",
    ["status", "reason"],
)
ROUTING_SECONDS = Histogram(
    "omni_routing_seconds",
    "Time to route one accepted event to its runs (signal-with-start and signals)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SENDS = Counter(
    "omni_sends",
    "Send activity results by scenario, channel and status (sent, recorded: kept by a "
    "record-only channel and never delivered, skipped, failed, deferred)",
    ["scenario", "channel", "status"],
)
SKIPS = Counter(
    "omni_send_skips",
    "Sends skipped or failed, by scenario, channel and reason code",
    ["scenario", "channel", "reason"],
)
RENDER_FAILURES = Counter(
    "omni_render_failures", "Templates that failed to render", ["scenario", "channel"]
)
CAPPED = Counter(
    "omni_frequency_capped", "Sends skipped by a frequency cap", ["scenario", "channel"]
)
QUIET_DEFERRALS = Counter(
    "omni_quiet_hours_deferrals",
    "Sends held until the customer's quiet hours end",
    ["scenario", "channel"],
)
DEFERRALS = Counter(
    "omni_send_deferrals",
    "Sends held back for a while, then tried again, by scenario, channel and reason code "
    "(quiet_hours, events_pending)",
    ["scenario", "channel", "reason"],
)
PROVIDER_SECONDS = Histogram(
    "omni_provider_send_seconds",
    "Time a channel adapter took to hand one message to its provider",
    ["channel", "provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_CALLS = Counter(
    "omni_provider_calls",
    "Calls to a provider by outcome (ok or the error type the adapter raised)",
    ["channel", "provider", "outcome"],
)

TELEGRAM_POLL_RESTARTS = Counter(
    "omni_telegram_poll_restarts",
    "Times the Telegram long-polling loop failed (Bot API, store or a bug) and was restarted",
)


def reason_of(result: SendResult) -> str:
    code = result.reason.split(":", 1)[0].strip()
    return code if code.replace("_", "").isalpha() and len(code) <= 40 else "other"


def record_send(req: SendRequest, result: SendResult) -> None:
    """Count one send activity's result and log it in one line (engine/send_lines.py)."""
    scenario, channel = req.scenario, req.channel
    # A recorded message (a record-only channel, omni dev) is no delivery: never "sent".
    recorded = result.status == "sent" and reason_of(result) == "recorded"
    status = "recorded" if recorded else result.status
    # The workflow id names the run; ``req.run`` is empty in revision-1 sends.
    run = (activity.info().workflow_id if activity.in_activity() else None) or str(
        req.run.get("id", "")
    )
    send_line(
        log,
        status=status,
        channel=channel,
        template=req.template,
        workflow_id=run,
        reason=reason_of(result) if result.reason and not recorded else "",
        scenario=scenario,
        step=req.step,
        key=req.key,
    )
    SENDS.labels(scenario, channel, status).inc()
    reason = reason_of(result)
    if result.status == "deferred":
        DEFERRALS.labels(scenario, channel, reason).inc()
        if reason == "quiet_hours":
            QUIET_DEFERRALS.labels(scenario, channel).inc()
    elif result.status in ("skipped", "failed"):
        SKIPS.labels(scenario, channel, reason).inc()
        if reason == "template_error":
            RENDER_FAILURES.labels(scenario, channel).inc()
        elif reason == "frequency_cap":
            CAPPED.labels(scenario, channel).inc()


def count_skip(scenario: str, channel: str, reason: str) -> None:
    """A skip decided outside the send activity: by the run itself (too late, held out) or
    by its end (stopped_by_goal, stopped_by_exit, stopped_by_cancel)."""
    SKIPS.labels(scenario, channel, reason_of(SendResult("skipped", reason=reason))).inc()


@contextmanager
def provider_call(channel: str, adapter: object) -> Iterator[None]:
    """Time one call to a provider and count how it ended."""
    provider = type(adapter).__name__
    start = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except BaseException as exc:
        outcome = type(exc).__name__
        raise
    finally:
        PROVIDER_SECONDS.labels(channel, provider).observe(time.perf_counter() - start)
        PROVIDER_CALLS.labels(channel, provider, outcome).inc()

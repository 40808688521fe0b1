"""Prometheus metrics: sends by scenario, channel and status, provider latency, render
failures, caps and quiet-hour deferrals; the worker's metrics port and the SDK's own metrics."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY
from send_activities import Failing, activities, request
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from channels.base import PermanentChannelError
from orchestrator.api.serve import free_port
from orchestrator.app.clients import connect
from orchestrator.app.processes import serve_worker_metrics
from orchestrator.config.settings import load_settings
from orchestrator.engine.policies import FrequencyPolicy
from orchestrator.language.model import FrequencyCap, QuietHours


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_send_results_are_counted_by_scenario_channel_and_status() -> None:
    env = ActivityEnvironment()
    before = {
        "sent": value("omni_sends_total", scenario="m1", channel="email", status="sent"),
        "latency": value(
            "omni_provider_send_seconds_count", channel="email", provider="AcceptingChannel"
        ),
    }
    await env.run(activities().send, request(scenario="m1"))
    assert value("omni_sends_total", scenario="m1", channel="email", status="sent") == (
        before["sent"] + 1
    )
    assert value(
        "omni_provider_send_seconds_count", channel="email", provider="AcceptingChannel"
    ) == (before["latency"] + 1)
    # A template that cannot render: a failed send and a render failure.
    await env.run(activities().send, request(key="k-render", scenario="m2", trigger={}))
    assert value("omni_render_failures_total", scenario="m2", channel="email") == 1
    assert value("omni_sends_total", scenario="m2", channel="email", status="failed") == 1
    # Quiet hours all day long: deferred and counted.
    quiet = request(key="k-quiet", scenario="m3", quiet_hours=QuietHours("00:00", "23:59"))
    assert (await env.run(activities().send, quiet)).status == "deferred"
    assert value("omni_quiet_hours_deferrals_total", scenario="m3", channel="email") == 1
    # A cap of zero messages a day: the send is skipped by the cap.
    capped = request(key="k-cap", scenario="m4", frequency_caps=[FrequencyCap(0, 86400)])
    acts = activities()
    acts.policy = FrequencyPolicy(caps=())
    assert (await env.run(acts.send, capped)).reason.startswith("frequency_cap")
    assert value("omni_frequency_capped_total", scenario="m4", channel="email") == 1
    # A provider refusing the message: counted by its error type.
    failing = activities(Failing(PermanentChannelError("invalid_address: 550")))
    await env.run(failing.send, request(key="k-perm", scenario="m5"))
    assert (
        value(
            "omni_provider_calls_total",
            channel="email",
            provider="Failing",
            outcome="PermanentChannelError",
        )
        >= 1
    )
    assert value("omni_send_skips_total", scenario="m5", channel="email", reason="invalid_address")


async def test_worker_metrics_port_and_temporal_sdk_metrics(dev_env: WorkflowEnvironment) -> None:
    ours, sdk = free_port(), free_port()
    config = load_settings(
        {
            "OMNI_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "OMNI_WORKER_METRICS_PORT": str(ours),
            "OMNI_SDK_METRICS_PORT": str(sdk),
        }
    )
    stop = serve_worker_metrics(config)
    try:
        client = await connect(config)
        await client.count_workflows()
        async with httpx.AsyncClient() as http:
            mine = await http.get(f"http://127.0.0.1:{ours}/metrics")
            theirs = await http.get(f"http://127.0.0.1:{sdk}/metrics")
        assert mine.status_code == 200 and "omni_sends_total" in mine.text
        assert theirs.status_code == 200 and "temporal_request" in theirs.text
    finally:
        stop()

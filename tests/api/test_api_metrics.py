"""GET /metrics on the API: events accepted, duplicate and rejected by reason; routing time."""

from __future__ import annotations

from api_stack import Api
from prometheus_client.parser import text_string_to_metric_families


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await api.client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def events(sample: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str) -> float:
    return sample.get(("omni_events_total", tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_events_by_status_and_reason(api: Api) -> None:
    before = await scrape(api)
    await api.client.post("/v1/events", headers=api.auth, json=api.event("m1"))
    await api.client.post("/v1/events", headers=api.auth, json=api.event("m1"))
    bad = api.event("m2", contact={"phone": "0151-not-e164"})
    assert (await api.client.post("/v1/events", headers=api.auth, json=bad)).status_code == 422
    after = await scrape(api)
    for labels, added in (
        ({"status": "accepted", "reason": ""}, 1),
        ({"status": "duplicate", "reason": ""}, 1),
        ({"status": "rejected", "reason": "contact_invalid"}, 1),
    ):
        assert events(after, **labels) - events(before, **labels) == added, labels
    count = ("omni_routing_seconds_count", ())
    assert after[count] - before.get(count, 0.0) == 1
    # No customer, address or key in any label.
    text = (await api.client.get("/metrics")).text
    assert "0151" not in text and api.cart not in text and api.key not in text

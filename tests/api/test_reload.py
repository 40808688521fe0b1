"""A scenario edit reaches new runs without a restart; runs in flight keep their version; an
edit that does not validate changes nothing and says why."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_stack import Api

from orchestrator.api.reload import ScenarioWatcher
from orchestrator.engine.messages import RunState


async def post(api: Api, eid: str, customer: str) -> dict[str, object]:
    answer = await api.client.post(
        "/v1/events", headers=api.auth, json=api.event(eid, customer=customer)
    )
    assert answer.status_code == 202, answer.text
    result: dict[str, object] = answer.json()["results"][0]
    return result


async def version_of(api: Api, customer: str) -> str:
    handle = api.svc.client.get_workflow_handle(api.wid_for(customer), result_type=RunState)
    state: RunState = await handle.query("state", result_type=RunState)
    return state.version


async def test_edits_reach_new_runs_and_runs_in_flight_keep_theirs(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = ScenarioWatcher(api.svc.router, [tmp_path / "scenarios"], tmp_path / "templates")
    first = await post(api, "v1", "r1")
    v1 = first["versions"]["quick_cart"]  # type: ignore[index]
    assert await watcher.check() is False  # nothing changed
    template = tmp_path / "templates" / "quick" / "reminder" / "email.j2"
    template.write_text(
        template.read_text().replace("s{% endblock %}", "New subject{% endblock %}")
    )
    with caplog.at_level(logging.INFO, logger="orchestrator.api.reload"):
        assert await watcher.check() is True
    second = await post(api, "v2", "r2")
    v2 = second["versions"]["quick_cart"]  # type: ignore[index]
    assert v2 != v1
    assert caplog.messages == [f"scenario change accepted: new runs start with quick_cart {v2}"]
    assert await version_of(api, "r1") == v1 and await version_of(api, "r2") == v2
    scenario = tmp_path / "scenarios" / "s.yaml"
    scenario.write_text(scenario.read_text().replace("wait:", "wiat:", 1))
    with caplog.at_level(logging.ERROR, logger="orchestrator.api.reload"):
        assert await watcher.check() is False
    assert "s.yaml" in caplog.text and "did you mean 'wait'" in caplog.text
    third = await post(api, "v3", "r3")
    assert third["versions"] == {"quick_cart": v2}  # the running version stays

"""Status the run API shows is Temporal's: runs that failed, were terminated or timed out read
so, with the reason, for each customer; pages of runs cost no billable action; another app's
workflows and unknown ids are 404 at once, never queried or signalled."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from api_stack import Api
from run_endings import failed_run, foreign_workflow, run_of, start_run
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from orchestrator.api.runs import QUERY_TIMEOUT
from orchestrator.engine.activities import Activities
from orchestrator.engine.runtime import build_worker

#: Well under the 30 s a query to a workflow nobody answers for takes: a 404 must not wait.
FAST = httpx.Timeout(5.0)


async def runs_of(api: Api, customer: str) -> list[dict[str, Any]]:
    listed = await api.client.get(f"/v1/contacts/{customer}/runs", headers=api.auth)
    assert listed.status_code == 200, listed.text
    runs: list[dict[str, Any]] = listed.json()["runs"]
    return runs


async def test_failed_terminated_and_timed_out_runs_read_so_with_the_reason(api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    running, terminated, failed, timed_out = (
        f"{who}-{tag}" for who in ("run", "term", "fail", "late")
    )
    scenario = api.svc.router.scenarios["quick_cart"]
    for customer in (running, terminated):
        posted = await api.client.post(
            "/v1/events", headers=api.auth, json=api.event(customer, customer=customer)
        )
        assert posted.status_code == 202, posted.text
    await api.svc.client.get_workflow_handle(api.wid_for(terminated)).terminate(
        reason="support: duplicate cart"
    )
    message = await failed_run(
        api.svc.client,
        scenario,
        failed,
        api.cart,
        directory=api.svc.contacts,
        send_log=api.svc.send_log,
    )
    assert "not a time" in message
    late = await start_run(
        api.svc.client,
        scenario,
        timed_out,
        api.cart,
        task_queue=f"nobody-{tag}",
        execution_timeout=timedelta(seconds=1),
    )
    with contextlib.suppress(WorkflowFailureError):
        await late.result()
    for customer in (failed, timed_out):  # the router indexes the runs it starts
        await api.svc.runs.add(run_of(scenario, customer, api.cart), scenario.id, customer)

    expected = {
        running: ("running", "", ""),
        terminated: ("terminated", "terminated", "support: duplicate cart"),
        # It decided its outcome, then failed in its cooldown: both read as they happened.
        failed: ("failed", "nothing_sent", message),
        timed_out: ("timed_out", "timed_out", "workflow execution timeout"),
    }
    api.calls.count.clear()
    for customer, (status, outcome, reason) in expected.items():
        [run] = await runs_of(api, customer)
        assert run["workflow_id"] == api.wid_for(customer)
        assert (run["status"], run["outcome"], run["reason"]) == (status, outcome, reason)
        assert (run["customer_id"], run["scenario"]) == (customer, "quick_cart")
        assert run["version"] == scenario.version
        assert bool(run["closed_at"]) == (status != "running")
    # Four lists of runs: describes and history reads only, no billable action.
    assert api.calls.billable == 0, api.calls.count
    assert api.calls.count["describe_workflow"] == 4

    for customer, (status, outcome, reason) in expected.items():
        one = await api.client.get(f"/v1/runs/{api.wid_for(customer)}", headers=api.auth)
        assert one.status_code == 200, one.text
        run = one.json()
        assert (run["status"], run["outcome"], run["reason"]) == (status, outcome, reason)
        assert run["customer_id"] == customer
    # One run's full view is free too; only ?live=true asks the running run (1 action).
    assert api.calls.billable == 0, api.calls.count
    live = await api.client.get(f"/v1/runs/{api.wid_for(running)}?live=true", headers=api.auth)
    assert run_state_step(live) == "steps.1"
    assert api.calls.count["query_workflow"] == api.calls.billable == 1, api.calls.count

    for customer in (terminated, failed, timed_out):
        refused = await api.client.post(
            f"/v1/runs/{api.wid_for(customer)}/cancel", headers=api.auth, json={"reason": "x"}
        )
        assert refused.status_code == 409, refused.text
        assert expected[customer][0] in refused.json()["detail"]
    await api.svc.client.get_workflow_handle(api.wid_for(running)).terminate("test over")


def run_state_step(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    step: str = answer.json()["current_step"]
    return step


async def test_another_apps_workflow_and_unknown_ids_are_404_at_once(api: Api) -> None:
    # Named like one of ours: only its type tells it apart.
    wid = f"quick_cart/customer-42/cart-{api.cart}"
    async with foreign_workflow(api.svc.client, wid) as other:
        pass  # its worker is gone now: a query to it would wait for the server's deadline
    unknown = f"quick_cart/customer-42/cart-{api.cart}-unknown"
    api.calls.count.clear()
    for target in (wid, unknown):
        got = await api.client.get(f"/v1/runs/{target}", headers=api.auth, timeout=FAST)
        assert got.status_code == 404, got.text
        cancel = await api.client.post(
            f"/v1/runs/{target}/cancel", headers=api.auth, json={"reason": "x"}, timeout=FAST
        )
        assert cancel.status_code == 404, cancel.text
    assert api.calls.billable == 0, api.calls.count
    history = await other.fetch_history()
    signalled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert not [e for e in history.events if e.event_type == signalled]
    await other.terminate("test over")


async def test_a_running_run_whose_worker_is_down_reads_from_history_or_503_when_live(
    api: Api,
) -> None:
    queue = f"gone-{uuid.uuid4()}"
    scenario = api.svc.router.scenarios["quick_cart"]
    activities = Activities(directory=api.svc.contacts, send_log=api.svc.send_log, channels={})
    async with build_worker(api.svc.client, task_queue=queue, activities=activities):
        handle = await start_run(api.svc.client, scenario, "down-1", api.cart, task_queue=queue)
        up = await api.client.get(f"/v1/runs/{handle.id}", headers=api.auth)
        assert up.status_code == 200 and up.json()["status"] == "running", up.text
    # Its view needs no worker: history and the send log answer.
    free = await api.client.get(f"/v1/runs/{handle.id}", headers=api.auth)
    assert free.status_code == 200, free.text
    assert (free.json()["status"], free.json()["customer_id"]) == ("running", "down-1")
    # Asking the run itself waits for its worker: 503 within the query's bound.
    down = await api.client.get(
        f"/v1/runs/{handle.id}?live=true",
        headers=api.auth,
        timeout=httpx.Timeout(QUERY_TIMEOUT.total_seconds() + 5),
    )
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"] == "5"
    assert "did not answer" in down.json()["detail"]
    # Its status alone costs nothing and needs no worker.
    await api.svc.runs.add(handle.id, scenario.id, "down-1")
    [listed] = await runs_of(api, "down-1")
    assert listed["status"] == "running"
    await handle.terminate("test over")

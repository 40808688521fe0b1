"""The console shows Temporal's status: on a customer's page a run that failed, was terminated
or timed out reads so, with the reason; the funnel counts such runs under their status; neither
page costs a billable action."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from datetime import timedelta

from console_stack import ConsoleStack, logged_in, profile_of, run_row
from run_endings import failed_run, run_of, start_run
from temporalio.client import WorkflowFailureError


async def test_ended_otherwise_runs_show_with_their_reason_and_count_in_the_funnel(
    stack: ConsoleStack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    running, terminated, failed, late = (f"{who}-{tag}" for who in ("run", "term", "fail", "late"))
    scenario = stack.scenarios["console_play"]
    before = await funnel_outcomes(stack)
    wids = {who: await stack.basket(who) for who in (running, terminated)}
    await stack.wait_sent(running)
    await stack.svc.client.get_workflow_handle(wids[terminated]).terminate(
        reason="support: <b>duplicate</b> cart"
    )
    cart = f"c-{tag}"
    message = await failed_run(
        stack.svc.client,
        scenario,
        failed,
        cart,
        directory=stack.svc.contacts,
        send_log=stack.svc.send_log,
    )
    handle = await start_run(
        stack.svc.client,
        scenario,
        late,
        cart,
        task_queue=f"nobody-{tag}",
        execution_timeout=timedelta(seconds=1),
    )
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    wids[failed], wids[late] = run_of(scenario, failed, cart), run_of(scenario, late, cart)
    for customer in (failed, late):  # the console finds customers by their contact
        answer = await stack.http.put(
            f"/v1/contacts/{customer}", json={"first_name": "Q"}, headers=stack.auth
        )
        assert answer.status_code in (200, 201), answer.text

    expected = {
        running: ("running", "", ""),
        terminated: ("terminated", "terminated", "support: &lt;b&gt;duplicate&lt;/b&gt; cart"),
        failed: ("failed", "nothing_sent", message.replace("'", "&#39;")),
        late: ("timed_out", "timed_out", "workflow execution timeout"),
    }
    stack.calls.count.clear()
    for customer, (status, outcome, reason) in expected.items():
        profile = await eventually_listed(stack, customer, wids[customer])
        row = run_row(profile, wids[customer])
        assert f'data-status="{status}"' in profile, row
        assert f'<td class="outcome">{outcome.replace("_", " ")}</td>' in row, row
        if reason:
            assert f'<span class="reason">{reason}</span>' in row, row
        else:
            assert 'class="reason"' not in row, row
    # Four customer pages: visibility, describes and history reads, no billable action.
    assert stack.calls.billable == 0, stack.calls.count

    counts = await funnel_outcomes(stack)
    assert stack.calls.billable == 0, stack.calls.count
    # Other tests' console_play runs on this Temporal server count too: compare with before.
    added = {k: counts.get(k, 0) - before.get(k, 0) for k in counts.keys() | before.keys()}
    assert {k: n for k, n in added.items() if n} == {
        "running": 1,
        "terminated": 1,
        "timed_out": 1,
        "nothing_sent": 1,
    }, (before, counts)
    await stack.svc.client.get_workflow_handle(wids[running]).terminate("test over")


async def eventually_listed(stack: ConsoleStack, customer: str, workflow_id: str) -> str:
    """The customer's page once visibility has the run (it lags the run by up to a second)."""
    for _ in range(50):
        profile = await profile_of(stack, customer)
        if f'data-workflow="{workflow_id}"' in profile:
            return profile
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} not listed: {profile}")


async def funnel_outcomes(stack: ConsoleStack) -> dict[str, int]:
    """The scenario page's runs by outcome (or status, for runs that ended otherwise)."""
    async with logged_in(stack) as client:
        page = await client.get("/console/scenarios/console_play?days=1")
    assert page.status_code == 200, page.text
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(
            r'<tr data-outcome="([^"]+)"><th scope="row">[^<]*</th><td class="num">(\d+)</td>',
            page.text,
        )
    }

"""Customers: a profile with consents (and their source), suppressions, runs (Temporal's status
and, for a run that failed or was terminated, why; what a running run waits for and until when;
a link to the Temporal UI) and messages."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.service import RPCError

from orchestrator.console.auth import Session, checked_form, console_of, require_session
from orchestrator.console.outcomes import sync_outcomes
from orchestrator.console.refs import ref, unref
from orchestrator.console.render import HEADERS, page
from orchestrator.console.send_times import customer_timing
from orchestrator.console.state import Console
from orchestrator.console.words import fate_chips, hold_chips
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.run_status import describe_run, waiting
from orchestrator.store.funnel import OutcomeRecord
from orchestrator.store.message_views import Wanted

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Login = Annotated[Session, Depends(require_session)]


@dataclass
class RunView:
    run: OutcomeRecord
    current_step: str = ""
    next_wakeup: str = ""
    temporal_url: str = ""
    #: Temporal's word now (the store's copy of visibility may lag a second behind).
    status: str = ""
    outcome: str = ""
    #: Why the run failed, was terminated, timed out or was cancelled.
    reason: str = ""

    def __post_init__(self) -> None:
        self.status = self.status or self.run.status
        self.outcome = self.outcome or self.run.outcome


@router.get("/console/customers")
async def customers(request: Request, _: Login, error: str = "") -> Response:
    recent = await console_of(request).messages.recent_contacts()
    return page(request, "customers.html", recent=recent, error=error)


@router.post("/console/customers")
async def find_customer(request: Request) -> Response:
    """Look a customer up by id, email or phone; the answer's URL holds only a reference."""
    _, form = await checked_form(request)
    console = console_of(request)
    wanted = str(form.get("q", "")).strip()
    found: list[str] = []
    if wanted:
        if await console.svc.contacts.get(wanted) is not None:
            found = [wanted]
        channel = "email" if "@" in wanted else "sms"
        found += [c for c in await console.svc.contacts.find_all(channel, wanted) if c != wanted]
    if not found:
        return RedirectResponse("/console/customers?error=1", status_code=303, headers=HEADERS)
    if (
        len(found) > 1
    ):  # every match, each a link (the page is the answer to a POST: no PII in URLs)
        recent = await console.messages.recent_contacts()
        return page(request, "customers.html", recent=recent, error="", matches=found, q=wanted)
    target = f"/console/customers/{ref(console, 'customer', found[0])}"
    return RedirectResponse(target, status_code=303, headers=HEADERS)


def temporal_link(console: Console, run: OutcomeRecord) -> str:
    base = console.settings.temporal_ui_url.rstrip("/")
    namespace = quote(console.svc.client.namespace, safe="")
    workflow = quote(run.workflow_id, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{workflow}/{run.run_id}/history"


#: Runs read from Temporal at once for one customer's page: their reads are independent, and
#: one after another they made a page of 30 running runs take over a second (bench/day.py).
READS_AT_ONCE = 8


async def run_views(console: Console, customer_id: str) -> list[RunView]:
    """The customer's runs with Temporal's status: the store's copy of visibility, then a
    describe (free) of each run not known to have completed, for its status now, its start
    delay and why it failed or was terminated, and for a running run the timer it waits on
    (its history, free). No query: a page of runs costs no billable action."""
    try:
        await sync_outcomes(console.svc.client, console.funnel)
    except Exception as exc:  # Temporal down: show what the store holds
        log.warning("run outcomes not synced: %s", exc)
    reads = asyncio.Semaphore(READS_AT_ONCE)

    async def view_of(run: OutcomeRecord) -> RunView:
        view = RunView(run, temporal_url=temporal_link(console, run))
        if run.status == "completed":
            return view
        async with reads:
            try:
                found = await describe_run(console.svc.client, run.workflow_id, run.run_id)
            except RPCError as exc:
                log.info("status of %s: %s", run.workflow_id, exc)
                return view
            if found is None:
                return view
            view.status, view.outcome, view.reason = found.status, found.outcome, found.reason
            if found.starts_at is not None:  # trigger.spread: Temporal holds its first step
                view.current_step = "waiting to start (spread)"
                view.next_wakeup = found.starts_at.isoformat()
            elif found.status == "running":
                timer = await waiting(console.svc.client, run.workflow_id, found.run_id)
                if timer is not None:
                    view.current_step = timer.summary
                    view.next_wakeup = timer.until.isoformat()
        return view

    runs = await console.funnel.runs_of(customer_ref(customer_id))
    return list(await asyncio.gather(*(view_of(run) for run in runs)))


@router.get("/console/customers/{token}")
async def customer(request: Request, token: str, _: Login) -> Response:
    console = console_of(request)
    customer_id = unref(console, "customer", token)
    contact = await console.svc.contacts.get(customer_id) if customer_id else None
    if customer_id is None or contact is None:
        raise HTTPException(404, detail="no such customer (or the link has expired)")
    fates = await console.messages.fates(Wanted(customer_id=customer_id))
    return page(
        request,
        "customer.html",
        c=contact,
        history=await console.svc.contacts.history(customer_id),
        runs=await run_views(console, customer_id),
        messages=await console.messages.of_customer(customer_id),
        counts=fate_chips(fates),
        holds=hold_chips(fates),
        timing=await customer_timing(console, customer_id, contact.timezone or ""),
    )

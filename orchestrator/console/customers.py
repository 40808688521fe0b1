"""Customers: a profile with consents (and their source), suppressions, runs (with the state
query's current step and next wake-up, and a link to the Temporal UI) and messages."""

from __future__ import annotations

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
from orchestrator.console.settings import Console
from orchestrator.engine.delayed import delayed_run, not_started_yet
from orchestrator.engine.ids import customer_ref
from orchestrator.engine.messages import RunState
from orchestrator.store.funnel import OutcomeRecord

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Login = Annotated[Session, Depends(require_session)]


@dataclass
class RunView:
    run: OutcomeRecord
    current_step: str = ""
    next_wakeup: str = ""
    temporal_url: str = ""


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
    found = None
    if wanted:
        if await console.svc.contacts.get(wanted) is not None:
            found = wanted
        else:
            channel = "email" if "@" in wanted else "sms"
            found = await console.svc.contacts.find(channel, wanted)
    if found is None:
        return RedirectResponse("/console/customers?error=1", status_code=303, headers=HEADERS)
    target = f"/console/customers/{ref(console, 'customer', found)}"
    return RedirectResponse(target, status_code=303, headers=HEADERS)


def temporal_link(console: Console, run: OutcomeRecord) -> str:
    base = console.settings.temporal_ui_url.rstrip("/")
    namespace = quote(console.svc.client.namespace, safe="")
    workflow = quote(run.workflow_id, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{workflow}/{run.run_id}/history"


async def run_views(console: Console, customer_id: str) -> list[RunView]:
    try:
        await sync_outcomes(console.svc.client, console.funnel)
    except Exception as exc:  # Temporal down: show what the store holds
        log.warning("run outcomes not synced: %s", exc)
    views = []
    for run in await console.funnel.runs_of(customer_ref(customer_id)):
        view = RunView(run, temporal_url=temporal_link(console, run))
        if run.status == "running":
            handle = console.svc.client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
            try:
                state = await handle.query("state", result_type=RunState)
                view.current_step, view.next_wakeup = state.current_step, state.next_wakeup
            except RPCError as exc:
                if not_started_yet(exc):  # trigger.spread: Temporal holds its first step
                    delayed = await delayed_run(console.svc.client, run.workflow_id, run.run_id)
                    view.current_step = "waiting to start (spread)"
                    view.next_wakeup = delayed.starts_at.isoformat()
                else:
                    log.info("state of %s: %s", run.workflow_id, exc)
        views.append(view)
    return views


@router.get("/console/customers/{token}")
async def customer(request: Request, token: str, _: Login) -> Response:
    console = console_of(request)
    customer_id = unref(console, "customer", token)
    contact = await console.svc.contacts.get(customer_id) if customer_id else None
    if customer_id is None or contact is None:
        raise HTTPException(404, detail="no such customer (or the link has expired)")
    return page(
        request,
        "customer.html",
        c=contact,
        history=await console.svc.contacts.history(customer_id),
        runs=await run_views(console, customer_id),
        messages=await console.messages.of_customer(customer_id),
    )

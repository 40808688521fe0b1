"""Login, logout, the scenarios list and a scenario's page (diagram and funnel)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from orchestrator.console.auth import (
    COOKIE,
    LOGIN_COOKIE,
    Session,
    checked_form,
    console_of,
    login_token,
    require_session,
    same_origin,
    session_cookie,
    set_cookie,
)
from orchestrator.console.diagram import diagram
from orchestrator.console.experiments import NOTE as EXPERIMENTS_NOTE
from orchestrator.console.experiments import experiment_views
from orchestrator.console.outcomes import sync_outcomes
from orchestrator.console.render import HEADERS, page
from orchestrator.language.loader import load_all
from orchestrator.language.model import Scenario
from orchestrator.store.arms import SqlArms
from orchestrator.store.funnel import Funnel

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Login = Annotated[Session, Depends(require_session)]
PERIODS = {"1": "last 24 hours", "7": "last 7 days", "30": "last 30 days", "365": "last year"}


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/login")
async def login_page(request: Request, error: str = "") -> Response:
    nonce = secrets.token_urlsafe(16)
    shown = page(
        request,
        "login.html",
        status=401 if error else 200,
        error=error,
        login_csrf=login_token(console_of(request), nonce),
    )
    set_cookie(shown, request, LOGIN_COOKIE, nonce, 600)
    return shown


@router.post("/console/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    token = str(form.get("csrf", ""))
    if (
        not nonce
        or not same_origin(request)
        or not hmac.compare_digest(token, login_token(console, nonce))
    ):
        raise HTTPException(403, detail="refused: stale or cross-site login form")
    secret = str(form.get("secret", "")).strip()
    who = ""
    password = console.settings.password
    if password and hmac.compare_digest(secret.encode(), password.encode()):
        who = "password"
    elif (key_id := await console.svc.keys.verify(secret)) is not None:
        who = f"api key {key_id}"
    if not who:
        await asyncio.sleep(0.5)  # slows guessing down a little; keys are 256-bit anyway
        return await login_page(request, error="That password or API key is not valid.")
    log.info("console login: %s", who)
    done = RedirectResponse("/console", status_code=303, headers=HEADERS)
    set_cookie(
        done, request, COOKIE, session_cookie(console, who), console.settings.session_hours * 3600
    )
    done.delete_cookie(LOGIN_COOKIE, path="/")
    return done


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    done = RedirectResponse("/console/login", status_code=303, headers=HEADERS)
    done.delete_cookie(COOKIE, path="/")
    return done


@router.get("/console")
async def scenarios(request: Request, _: Login) -> Response:
    console = console_of(request)
    loaded = sorted(console.svc.router.scenarios.values(), key=lambda s: s.id)
    on_disk: dict[str, str] = {}
    problems: list[str] = []
    if console.scenario_dirs:
        found, issues = await asyncio.to_thread(
            load_all, console.scenario_dirs, console.templates_dir
        )
        on_disk = {s.id: s.version for s in found}
        problems = [str(p) for p in issues]
    return page(request, "scenarios.html", scenarios=loaded, on_disk=on_disk, problems=problems)


def _scenario(request: Request, scenario_id: str) -> Scenario:
    found = console_of(request).svc.router.scenarios.get(scenario_id)
    if found is None:
        raise HTTPException(404, detail="no such scenario")
    return found


def step_notes(funnel: Funnel) -> dict[str, str]:
    notes: dict[str, str] = {}
    for f in funnel.steps:
        skipped = sum(f.skipped.values())
        text = f"{f.channel}: sent {f.sent}, opened {f.opened}, clicked {f.clicked}"
        notes[f.step] = text + (f", skipped {skipped}" if skipped else "")
    return notes


@router.get("/console/scenarios/{scenario_id}")
async def scenario_page(
    request: Request, scenario_id: str, _: Login, days: str = "7", version: str = ""
) -> Response:
    console = console_of(request)
    s = _scenario(request, scenario_id)
    days = days if days in PERIODS else "7"
    until = datetime.now(UTC) + timedelta(minutes=1)
    since = until - timedelta(days=int(days))
    try:
        await sync_outcomes(console.svc.client, console.funnel)
    except Exception as exc:  # Temporal down: show the messages, say the runs may be stale
        log.warning("run outcomes not synced: %s", exc)
    funnel = await console.funnel.funnel(s.id, since, until, version)
    arms = SqlArms(console.funnel.sessions)
    return page(
        request,
        "scenario.html",
        s=s,
        svg=diagram(s, step_notes(funnel)),
        funnel=funnel,
        periods=PERIODS,
        days=days,
        version=version,
        versions=await console.funnel.version_history(s.id),
        templates=sorted(s.templates),
        experiments=await experiment_views(arms, s, since, until, version),
        experiments_note=EXPERIMENTS_NOTE,
    )


@router.get("/console/scenarios/{scenario_id}/diagram.svg")
async def scenario_svg(request: Request, scenario_id: str, _: Login) -> Response:
    return Response(
        diagram(_scenario(request, scenario_id)), media_type="image/svg+xml", headers=HEADERS
    )

"""Login, logout, the scenarios list and a scenario's page (diagram and funnel)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from orchestrator.api.browser import (
    LOGIN_FORM_SECONDS,
    new_login_nonce,
    same_origin,
    secrets_equal,
    set_cookie,
)
from orchestrator.api.throttle import retry_after_header
from orchestrator.console.auth import (
    COOKIE,
    LOGIN_COOKIE,
    Session,
    checked_form,
    console_of,
    require_session,
)
from orchestrator.console.diagram import diagram
from orchestrator.console.experiments import NOTE as EXPERIMENTS_NOTE
from orchestrator.console.experiments import experiment_views
from orchestrator.console.outcomes import sync_outcomes
from orchestrator.console.render import HEADERS, page
from orchestrator.console.send_times import scenario_chart
from orchestrator.console.words import PERIODS
from orchestrator.language.loader import load_all
from orchestrator.language.model import Scenario
from orchestrator.store.arms import SqlArms
from orchestrator.store.funnel import Funnel

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Login = Annotated[Session, Depends(require_session)]


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/login")
async def login_page(request: Request, error: str = "", status: int = 0) -> Response:
    nonce = new_login_nonce()
    shown = page(
        request,
        "login.html",
        status=status or (401 if error else 200),
        error=error,
        login_csrf=console_of(request).signing.login_token(nonce),
    )
    set_cookie(shown, request, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS)
    return shown


@router.post("/console/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    token, secret = form.get("csrf", ""), form.get("secret", "")
    if (
        not isinstance(token, str)
        or not isinstance(secret, str)
        or not same_origin(request)
        or not console.signing.login_ok(token, request.cookies.get(LOGIN_COOKIE, ""))
    ):
        raise HTTPException(403, detail="refused: stale or cross-site login form")
    secret = secret.strip()
    # Taken before the check: a throttled attempt is not checked at all (ASVS V2.2.1).
    wait, taken = console.throttle.take(request, secret)
    if wait > 0:
        log.warning("console login throttled (429): %s", request.client and request.client.host)
        shown = await login_page(
            request, error="Too many login attempts; try again later.", status=429
        )
        shown.headers["Retry-After"] = retry_after_header(wait)
        return shown
    who, key_id, password_tag = "", None, None
    password = console.settings.password_text()
    if password and secrets_equal(secret, password):
        who, password_tag = "password", console.password_tag
    elif (grant := await console.svc.keys.verify(secret)) is not None:
        if "console" not in grant.scopes:
            raise HTTPException(403, detail="this API key lacks the 'console' scope")
        who, key_id = f"api key {grant.key_id}", grant.key_id
    if not who:
        return await login_page(request, error="That password or API key is not valid.")
    console.throttle.succeeded(taken)
    log.info("console login: %s", who)
    await console.forget_old_passwords()
    cookie, session_hash = console.signing.new_session()
    await console.sessions.open(
        session_hash, app="console", who=who, key_id=key_id, password_tag=password_tag
    )
    done = RedirectResponse("/console", status_code=303, headers=HEADERS)
    set_cookie(done, request, COOKIE, cookie, console.settings.session_hours * 3600)
    done.delete_cookie(LOGIN_COOKIE, path="/")
    return done


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    session, _ = await checked_form(request)
    await console_of(request).sessions.end(session.id_hash)
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
        text += f", recorded {f.recorded} (not sent)" if f.recorded else ""
        held = sum(f.held.values())
        text += f", skipped {skipped}" if skipped else ""
        notes[f.step] = text + (f", held {held}" if held else "")
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
        send_times=await scenario_chart(console, s),
    )


@router.get("/console/scenarios/{scenario_id}/diagram.svg")
async def scenario_svg(request: Request, scenario_id: str, _: Login) -> Response:
    return Response(
        diagram(_scenario(request, scenario_id)), media_type="image/svg+xml", headers=HEADERS
    )

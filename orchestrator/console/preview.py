"""Preview any template with the sample data or a real contact, in each locale, with SMS
segments, WhatsApp free text's length and email size; send one test message through the
configured provider."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from channels.base import ChannelError, Outbound, Rendered
from channels.email_message import build, to_bytes
from channels.segments import segments
from orchestrator.console.auth import checked_form, console_of, require_session
from orchestrator.console.message_view import shown
from orchestrator.console.render import page
from orchestrator.console.state import Console
from orchestrator.engine.sendlog import RECORDED, SendRecord
from orchestrator.language.digest import sample_collected
from orchestrator.language.model import Scenario
from orchestrator.language.samples import SAMPLE_CONTACT, sample_run
from orchestrator.language.templates import TemplateProblem, message_context, render

router = APIRouter(include_in_schema=False)
TEST_CHANNELS = ("email", "telegram", "sms")


def _pick(console: Console, scenario: str, template: str) -> tuple[Scenario, str]:
    scenarios = console.svc.router.scenarios
    s = scenarios.get(scenario) or next(iter(sorted(scenarios.items())))[1]
    names = sorted(s.templates)
    if not names:
        raise HTTPException(404, detail="this scenario has no templates")
    return s, template if template in s.templates else names[0]


def _render(
    s: Scenario, template: str, locale: str, contact: dict[str, Any]
) -> tuple[Rendered | None, str]:
    channel = template.rsplit("/", 1)[1]
    sources = s.templates[template]
    trigger = s.samples.get(s.trigger.event, {})
    context = message_context(
        contact=contact,
        trigger=trigger,
        event=trigger,
        run=sample_run(s.id),
        timezone=str(contact.get("timezone") or "UTC"),
        link=lambda url: url,
        collected=sample_collected(s),
    )
    try:
        source = sources.get(locale, sources[""])
        return render(channel, source, context, locale=locale, filename=template), ""
    except (TemplateProblem, KeyError) as exc:
        return None, str(exc)


def facts(console: Console, message: Rendered) -> str:
    if message.channel == "sms":
        return str(segments(message.text))
    if message.channel == "whatsapp" and message.text:
        return (
            f"{len(message.text):,} characters of free text (Twilio takes up to 1,600); sent "
            "only within 24 h of the customer's last WhatsApp message; billed per message"
        )
    if message.channel == "email":
        out = Outbound("preview", "email", "customer@example.com", message, "", "", "")
        size = len(to_bytes(build(out, sender=console.email_sender)))
        return f"{size:,} bytes as sent (MIME, without tracking)"
    return ""


async def _page(
    request: Request, form: dict[str, str], *, sent: str = "", error: str = "", status: int = 200
) -> Response:
    console = console_of(request)
    s, template = _pick(console, form.get("scenario", ""), form.get("template", ""))
    locale = form.get("locale", "")
    locale = locale if locale in s.templates[template] else ""
    contact: dict[str, Any] = dict(SAMPLE_CONTACT, locale=locale or "en")
    customer = form.get("customer", "")
    if customer:
        found = await console.svc.contacts.get(customer)
        if found is None:
            error = error or "no contact with that id: showing the sample contact"
            customer = ""
        else:
            contact = found.public()
    message, problem = _render(s, template, locale, contact)
    return page(
        request,
        "preview.html",
        status,
        s=s,
        scenarios=sorted(console.svc.router.scenarios),
        template=template,
        channel=template.rsplit("/", 1)[1],
        locale=locale,
        locales=sorted(s.templates[template]),
        customer=customer,
        rendered=shown(asdict(message)) if message else None,
        facts=facts(console, message) if message else "",
        problem=problem,
        sent=sent,
        error=error,
        test_channels=TEST_CHANNELS,
        test_recipients=console.settings.test_recipients_for(template.rsplit("/", 1)[1]),
    )


@router.get("/console/preview")
async def preview(
    request: Request, scenario: str = "", template: str = "", locale: str = ""
) -> Response:
    require_session(request)
    return await _page(request, {"scenario": scenario, "template": template, "locale": locale})


@router.post("/console/preview")
async def preview_for_contact(request: Request) -> Response:
    """A real contact's data: posted, so the customer id stays out of the URL."""
    _, form = await checked_form(request)
    return await _page(request, {k: str(v) for k, v in form.items()})


@router.post("/console/test-send")
async def test_send(request: Request) -> Response:
    """A test goes only to a recipient the shop declared (OMNI_TEST_RECIPIENTS), at most
    OMNI_TEST_SENDS_PER_HOUR an hour per console user, recorded with who sent it."""
    session, form = await checked_form(request)
    fields = {k: str(v) for k, v in form.items()}
    console = console_of(request)
    s, template = _pick(console, fields.get("scenario", ""), fields.get("template", ""))
    channel = template.rsplit("/", 1)[1]
    address = fields.get("address", "").strip()
    # Each refusal names the field and the rule it breaks, as the API's 422s do.
    if channel not in TEST_CHANNELS or channel not in console.channels:
        ways = [c for c in TEST_CHANNELS if c in console.channels]
        error = (
            f"template: must be a template of a channel test sends go by here "
            f"({', '.join(ways) or 'none'}); this one is {channel}"
        )
        return await _page(request, fields, error=error, status=422)
    if address not in console.settings.test_recipients_for(channel):
        error = (
            "address: must be one of the test recipients declared in OMNI_TEST_RECIPIENTS "
            "(test sends go to nobody else)"
        )
        return await _page(request, fields, error=error, status=403)
    locale = fields.get("locale", "")
    message, problem = _render(s, template, locale, dict(SAMPLE_CONTACT, locale=locale or "en"))
    if message is None:
        error = f"template: must render with the scenario's sample data: {problem}"
        return await _page(request, fields, error=error, status=422)
    message.subject = f"[test] {message.subject}" if message.subject else ""
    key = f"test/{uuid.uuid4().hex}"
    entry = SendRecord(
        key=key,
        customer_id="",
        scenario=s.id,
        step="test",
        channel=channel,
        template=template.rsplit("/", 1)[0],
        status="sending",
        at=datetime.now(UTC),
        reason=f"test send by {session.who}",
        version=s.version,
        body=json.dumps(asdict(message), ensure_ascii=False),
        test=True,
    )
    limit = console.settings.test_sends_per_hour
    if not await console.svc.send_log.claim_test(entry, limit=limit, window=timedelta(hours=1)):
        error = f"{limit} test sends an hour at most (OMNI_TEST_SENDS_PER_HOUR): try later"
        return await _page(request, fields, error=error, status=429)
    out = Outbound(key, channel, address, message, "", s.id, template, marketing=False)
    try:
        delivery = await console.channels[channel].send(out)
    except ChannelError as exc:
        await console.svc.send_log.record(dataclasses.replace(entry, status="failed"))
        return await _page(request, fields, error=f"the provider refused the test: {exc}")
    status = RECORDED if delivery.recorded else "sent"
    done = dataclasses.replace(entry, status=status, provider_id=delivery.provider_id)
    await console.svc.send_log.record(done)
    verb = "recorded (not delivered: no provider)" if delivery.recorded else "sent"
    return await _page(request, fields, sent=f"Test {verb} by {channel} ({delivery.provider_id}).")

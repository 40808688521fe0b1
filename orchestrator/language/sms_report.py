"""What ``omni validate`` prints about message sizes: SMS segments and encoding per template and
locale; WhatsApp's free text and approved templates (billed per message, not per segment)."""

from __future__ import annotations

from typing import Any

from channels.preferences import sms_text
from channels.segments import segments
from orchestrator.language.digest import sample_collected
from orchestrator.language.model import Scenario
from orchestrator.language.samples import sample_contact, sample_run
from orchestrator.language.templates import message_context, render

#: Twilio's limit for a message body (its Messages API: "up to 1,600 characters").
MAX_BODY = 1600
#: A preference center short link as marketing SMS carry it (the length of one on a short
#: https domain; the public URL is the operator's, unknown here).
SAMPLE_LINK = "https://shop.example/p/AbCdEfGhIjKl"


def _context(scenario: Scenario, locale: str) -> dict[str, Any]:
    trigger = scenario.samples.get(scenario.trigger.event, {})
    return message_context(
        contact=dict(sample_contact(scenario.samples), locale=locale or "en"),
        trigger=trigger,
        event=trigger,
        run=sample_run(scenario.id),
        timezone="UTC",
        link=lambda url: url,
        collected=sample_collected(scenario),
    )


def sms_report(scenario: Scenario) -> list[str]:
    """Segments and encoding of every SMS template with the sample data, per locale: an SMS
    over 160 GSM-7 (or 70 UCS-2) characters costs several messages; a marketing SMS also with
    the preference center's link the SMS adapter adds (``channels.preferences``). WhatsApp:
    which message goes out inside and outside the 24-hour window, and the free text's length."""
    lines = []
    for name, sources in sorted(scenario.templates.items()):
        channel = name.rsplit("/", 1)[1]
        if channel not in ("sms", "whatsapp"):
            continue
        for locale, source in sorted(sources.items()):
            text = render(channel, source, _context(scenario, locale), locale=locale).text
            where = f"{channel} {name.rsplit('/', 1)[0]} [{locale or 'default'}]"
            if channel == "sms" and scenario.category == "marketing":
                # What the customer gets: the adapter adds the preference center's link.
                sent = segments(sms_text(text, SAMPLE_LINK, locale, max_segments=10))
                lines.append(
                    f"{where}: {segments(text)}; with the preferences link: "
                    f"{sent.segments} segment(s)"
                )
            elif channel == "sms":
                lines.append(f"{where}: {segments(text)}")
            else:
                lines.append(
                    f"{where}: free text, {len(text):,} characters (max {MAX_BODY:,}), only "
                    "within 24 h of the customer's last WhatsApp message; billed per "
                    "message, not per segment"
                )
    for name, locales in sorted(scenario.content.items()):
        for locale, approved in sorted(locales.items()):
            lines.append(
                f"whatsapp {name} [{locale or 'default'}]: approved template {approved.sid} "
                f"with {len(approved.variables)} variable(s), outside the 24 h window"
            )
    for name in sorted(n.rsplit("/", 1)[0] for n in scenario.templates if n.endswith("/whatsapp")):
        if name not in scenario.content:
            lines.append(
                f"whatsapp {name}: no approved template (whatsapp.yaml): skipped unless the "
                "customer wrote on WhatsApp in the last 24 h"
            )
    return lines

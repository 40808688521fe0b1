"""What ``omni validate`` prints about SMS: segments and encoding per template and locale."""

from __future__ import annotations

from channels.segments import segments
from orchestrator.language.model import Scenario
from orchestrator.language.samples import sample_contact, sample_run
from orchestrator.language.templates import message_context, render


def sms_report(scenario: Scenario) -> list[str]:
    """Segments and encoding of every SMS template with the sample data, per locale: an SMS
    over 160 GSM-7 (or 70 UCS-2) characters costs several messages."""
    trigger = scenario.samples.get(scenario.trigger.event, {})
    lines = []
    for name, sources in sorted(scenario.templates.items()):
        if not name.endswith("/sms"):
            continue
        for locale, source in sorted(sources.items()):
            ctx = message_context(
                contact=dict(sample_contact(scenario.samples), locale=locale or "en"),
                trigger=trigger,
                event=trigger,
                run=sample_run(scenario.id),
                timezone="UTC",
                link=lambda url: url,
            )
            text = render("sms", source, ctx, locale=locale).text
            lines.append(
                f"sms {name.removesuffix('/sms')} [{locale or 'default'}]: {segments(text)}"
            )
    return lines

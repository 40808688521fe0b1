"""``omni validate`` for a WhatsApp step: its approved template (``whatsapp[.<locale>].yaml``)
and whether it has free text (``whatsapp[.<locale>].j2``) for the 24-hour window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.language.content_templates import content_files, load_content, variable_value
from orchestrator.language.limits import TEMPLATE_LIMITS, spending
from orchestrator.language.model import Step
from orchestrator.language.samples import sample_run
from orchestrator.language.templates import TemplateProblem, message_context, template_files

if TYPE_CHECKING:
    from orchestrator.language.checks import Checker

MISSING_HINT = (
    "create {folder}/whatsapp.yaml (a template WhatsApp approved: content_sid and variables) "
    "and/or {folder}/whatsapp.j2 (free text, sent only within 24 h of the customer's last "
    "WhatsApp message)"
)
DATA_HINT = (
    "variables read contact, trigger fields (e.g. cart), event, run and money/date/link, "
    "like templates; add missing data to the scenario's 'sample:'"
)


def check_whatsapp(
    checker: Checker,
    name: str,
    step: Step,
    event: dict[str, Any] | None,
    spot: tuple[int, int],
) -> bool:
    """Report problems of the approved template; True when free-text templates exist too
    (the caller checks those like any other channel's)."""
    root = checker.templates_dir
    content = content_files(root, name)
    free = template_files(root, name, "whatsapp")
    if not content and not free:
        checker.fail(
            spot,
            f"template {name}/whatsapp not found under {root}: neither whatsapp.yaml nor "
            "whatsapp.j2",
            MISSING_HINT.format(folder=root / name),
        )
        return False
    if content and "" not in content:
        variants = ", ".join(p.name for p in content.values())
        checker.fail(
            spot,
            f"template {name} has WhatsApp locale variants ({variants}) but no default "
            "whatsapp.yaml to fall back to",
            f"add {root / name}/whatsapp.yaml for other locales",
        )
    for locale, path in content.items():
        parsed = load_content(path)
        checker.problems.extend(parsed.problems)
        if parsed.template is None or checker.trigger_sample is None:
            continue
        contact = dict(checker.contact, locale=locale or checker.contact.get("locale") or "en")
        ctx = message_context(
            contact=contact,
            trigger=checker.trigger_sample,
            event=event or checker.trigger_sample,
            run=sample_run(checker.s.id, step.path),
            timezone=contact["timezone"],
            link=lambda url: url,
            collected=checker.collected,
        )
        for key, source in parsed.template.variables.items():
            try:
                with spending(TEMPLATE_LIMITS):
                    variable_value(key, source, ctx)
            except TemplateProblem as exc:
                message = f"cannot fill with the sample context: {exc}"
                checker.fail(parsed.spots[key], message, DATA_HINT, file=str(path))
    return bool(free)

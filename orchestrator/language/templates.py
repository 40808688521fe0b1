"""Marketer templates: one Jinja2 file per message and channel, optional locale variants.

``templates/abandoned_cart/reminder/email.j2`` and ``email.ru.j2`` hold blocks for the parts the
channel needs (subject/html/text, title/body/url/icon, text/buttons, text). WhatsApp's approved
templates are YAML beside them (``orchestrator.language.content_templates``).

Markup comes only from the template: customer and event data is escaped wherever the channel
reads HTML (email's html block, Telegram's text), cannot add or bend a button, and cannot break
a one-line field (subject, title) over several lines. Every URL a message carries is an absolute
http(s) URL. Rendering runs under the resource limits of ``orchestrator.language.limits``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from functools import lru_cache
from html import unescape
from pathlib import Path
from typing import Any

from jinja2 import Template, nodes

from channels.base import Rendered
from orchestrator.language.limits import TEMPLATE_LIMITS, LimitExceeded, Limits, spending
from orchestrator.language.sandbox import LimitedEnvironment
from orchestrator.language.urls import UnsafeUrl, checked_url

REQUIRED_BLOCKS = {
    "email": ("subject", "html"),
    "push": ("title", "body"),
    "telegram": ("text",),
    "sms": ("text",),
    "whatsapp": ("text",),
}
OPTIONAL_BLOCKS = {
    "email": ("text",),
    "push": ("url", "icon"),
    "telegram": ("buttons",),
    "sms": (),
    "whatsapp": (),
}

#: Blocks read as HTML: customer data in them is escaped (``<``, ``>``, ``&``, quotes). Telegram's
#: text is sent with parse_mode=HTML, whose subset needs exactly these escapes.
HTML_BLOCKS = {("email", "html"), ("telegram", "text")}
#: One-line fields: line breaks from the data become spaces (a subject cannot break in two).
ONE_LINE = {("email", "subject"), ("push", "title")}
#: Blocks that must hold an http(s) URL when not empty.
URL_BLOCKS = {("push", "url"), ("push", "icon")}
#: Stands for a "|" that came from data inside a buttons block until the lines are split.
_DATA_PIPE = "\ue000"


def _button_value(value: Any) -> Any:
    """Data in a buttons block can neither start a new button (a line break) nor split a label
    from its URL (a "|"): only the template's own text does that."""
    text = str(value).replace(_DATA_PIPE, "")
    return " ".join(text.splitlines()).replace("|", _DATA_PIPE)


_PLAIN = LimitedEnvironment(autoescape=False)
_HTML = LimitedEnvironment(autoescape=True)
_BUTTONS = LimitedEnvironment(autoescape=False, clean=_button_value)
_ENVIRONMENTS = {"plain": _PLAIN, "html": _HTML, "buttons": _BUTTONS}
_TAGS = re.compile(r"<[^>]+>")


class TemplateProblem(Exception):
    """A template that cannot render; ``line`` is the template line when known, ``limit`` the
    resource limit it went past, if that was the problem."""

    def __init__(self, message: str, line: int = 1, limit: str = "") -> None:
        self.line = line
        self.limit = limit
        super().__init__(message)


def template_files(root: Path, name: str, channel: str) -> dict[str, Path]:
    """Locale ("" for the default) -> file, for ``root/name/channel[.locale].j2``."""
    folder = root / name
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob(f"{channel}*.j2")):
        parts = path.name[: -len(".j2")].split(".")
        if parts[0] != channel or len(parts) > 2:
            continue
        found[parts[1] if len(parts) == 2 else ""] = path
    return found


def pick_locale(available: list[str] | set[str] | dict[str, Any], wanted: str | None) -> str:
    """Exact locale, then its language (``ru-RU`` -> ``ru``), then the default ("")."""
    if wanted:
        norm = wanted.replace("_", "-")
        for candidate in (norm, norm.split("-")[0]):
            for have in available:
                if have.lower() == candidate.lower():
                    return have
    return ""


@lru_cache(maxsize=512)
def _compile(kind: str, source: str, filename: str) -> Template:
    env = _ENVIRONMENTS[kind]
    code = env.compile(source, filename=filename)
    return env.template_class.from_code(env, code, env.make_globals(None))


def _block(template: Template, name: str, context: dict[str, Any], filename: str) -> str:
    block = template.blocks.get(name)
    if block is None:
        return ""
    try:
        return "".join(block(template.new_context(context))).strip()
    except Exception as exc:
        line = 1
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == filename:
                # Compiled-code line -> template line (Jinja keeps the mapping).
                line = template.get_corresponding_lineno(lineno)
        limit = exc.limit if isinstance(exc, LimitExceeded) else ""
        raise TemplateProblem(f"block {name!r}: {exc}", line, limit) from None


def _kind(channel: str, name: str) -> str:
    if (channel, name) in HTML_BLOCKS:
        return "html"
    return "buttons" if name == "buttons" else "plain"


def render(
    channel: str,
    source: str,
    context: dict[str, Any],
    *,
    locale: str = "",
    filename: str = "<template>",
    limits: Limits = TEMPLATE_LIMITS,
) -> Rendered:
    """Render every block the channel uses; missing required blocks are an error. CPU-bound
    and bounded by ``limits``: callers on an event loop run it in a worker thread."""
    plain = _compile("plain", source, filename)
    missing = [b for b in REQUIRED_BLOCKS[channel] if b not in plain.blocks]
    if missing:
        raise TemplateProblem(f"a {channel} template needs block(s): {', '.join(missing)}")
    out = Rendered(channel=channel, locale=locale)
    with spending(limits):
        for name in REQUIRED_BLOCKS[channel] + OPTIONAL_BLOCKS[channel]:
            text = _block(_compile(_kind(channel, name), source, filename), name, context, filename)
            if (channel, name) in ONE_LINE:
                text = " ".join(text.split())
            if text and (channel, name) in URL_BLOCKS:
                text = _url(text, f"block {name!r}")
            if name == "buttons":
                out.buttons = parse_buttons(text)
            else:
                setattr(out, name, text)
    if channel == "email" and not out.text:
        out.text = unescape(_TAGS.sub("", out.html)).strip()
    return out


def outside_blocks(source: str) -> list[tuple[int, str]]:
    """(line, what) of text and expressions outside every block: a message renders only its
    blocks, so ``{{ custmer.first_name }}`` after the last block would never show and never
    fail. Whitespace, comments, macros and imports outside blocks are fine."""
    found: list[tuple[int, str]] = []
    for node in _PLAIN.parse(source).body:
        if isinstance(node, (nodes.Block, nodes.Macro, nodes.Import, nodes.FromImport)):
            continue
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    stripped = child.data.strip()
                    if stripped:
                        line = child.lineno + child.data[: child.data.index(stripped)].count("\n")
                        found.append((line, f"text {stripped[:40]!r}"))
                else:
                    found.append((child.lineno, "an expression {{ ... }}"))
        else:
            found.append((node.lineno, f"a {{% {type(node).__name__.lower()} %}} tag"))
    return found


def _url(url: str, where: str) -> str:
    try:
        return checked_url(url, where)
    except UnsafeUrl as exc:
        raise TemplateProblem(str(exc)) from None


def parse_buttons(text: str) -> list[tuple[str, str]]:
    """One button a line: ``Label | https://url``; the URL must be absolute http(s)."""
    buttons = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        label, sep, url = raw.partition("|")
        if not sep or not url.strip() or not label.strip():
            shown = raw.strip().replace(_DATA_PIPE, "|")
            raise TemplateProblem(f"button line {shown!r} must read 'Label | https://url'")
        label, url = (part.strip().replace(_DATA_PIPE, "|") for part in (label, url))
        buttons.append((label, _url(url, f"button {label!r}")))
    return buttons


def helpers(timezone: str, link: Callable[[str], str]) -> dict[str, Any]:
    """Functions templates may call: money, date (customer's time zone), link (tracked)."""
    from orchestrator.language.expressions import to_datetime
    from orchestrator.language.timezones import zone

    def money(amount: Any, currency: str = "EUR") -> str:
        symbols = {"EUR": "€", "USD": "$", "GBP": "£", "RUB": "₽"}
        value = f"{float(amount):,.2f}"
        symbol = symbols.get(currency.upper())
        return (
            f"{symbol}{value}"
            if symbol and currency.upper() != "RUB"
            else f"{value} {symbol or currency}"
        )

    def date(value: Any, fmt: str = "%d %b %Y, %H:%M") -> str:
        return to_datetime(value).astimezone(zone(timezone)).strftime(fmt)

    def checked_link(url: Any) -> str:
        # Only absolute http(s) URLs become links, tracked or not (escaped like any value in
        # HTML blocks, where an attribute needs &amp;).
        return link(checked_url(url, "link()"))

    return {"money": money, "date": date, "link": checked_link}


def message_context(
    *,
    contact: dict[str, Any],
    trigger: dict[str, Any],
    event: dict[str, Any],
    run: dict[str, Any],
    timezone: str,
    link: Callable[[str], str],
    collected: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Template variables: the trigger's fields at top level (``cart.total``), ``trigger``,
    ``event`` (the latest event), ``contact``, ``run``, ``collected`` (a ``collect`` step's
    events, newest first; [] without one) and the helper functions."""
    context: dict[str, Any] = dict(trigger)
    context.update(trigger=trigger, event=event, contact=contact, run=run)
    context.update(collected=list(collected or []))
    context.update(helpers(timezone, link))
    return context

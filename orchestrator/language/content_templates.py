"""WhatsApp's approved templates: ``templates/<name>/whatsapp[.<locale>].yaml``.

A business may start a WhatsApp conversation (or write 24 h after the customer last wrote)
only with a template WhatsApp approved, sent through Twilio's Content API by its SID::

    content_sid: HXb5b62575e6e4ff6129ad7c8efe1f983e
    variables:
      1: contact.first_name
      2: money(cart.total, cart.currency)
      3: link(cart.url)

Each variable is a Jinja2 expression over the names templates use (the trigger's fields,
``trigger``, ``event``, ``contact``, ``run``, ``money``/``date``/``link``), evaluated in the same
sandbox under the same limits. Its value is sent exactly as it is: JSON carries it to Twilio, so
no value can add a variable, change another one or reach another customer's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined

from channels.base import Rendered
from orchestrator.language.errors import Problem
from orchestrator.language.limits import TEMPLATE_LIMITS, LimitExceeded, Limits, spending
from orchestrator.language.model import ContentTemplate
from orchestrator.language.parse_base import did_you_mean
from orchestrator.language.sandbox import LimitedEnvironment
from orchestrator.language.templates import TemplateProblem
from orchestrator.language.yaml_source import Located, YamlProblem, load_located

CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
CONTENT_KEYS = ("content_sid", "variables")
EXAMPLE = "e.g. content_sid: HXb5b62575e6e4ff6129ad7c8efe1f983e, variables: {1: contact.first_name}"
SID_HINT = (
    "the Content SID Twilio shows for the approved template (Content Template Builder): "
    "HX followed by 32 hex digits, e.g. HXb5b62575e6e4ff6129ad7c8efe1f983e"
)
VARIABLES_HINT = (
    "number the variables as the approved template does ({{1}}, {{2}}, ...): "
    "1: contact.first_name, 2: link(cart.url)"
)
VALUE_HINT = (
    "a variable is a Jinja2 expression, e.g. contact.first_name or money(cart.total); "
    "quote fixed text twice: \"'Free shipping'\""
)
_ENV = LimitedEnvironment(autoescape=False)


@dataclass
class ContentFile:
    """A parsed ``whatsapp*.yaml``: the template (None if it has problems), its problems, and
    where each variable's expression sits in the file (line, column), for later checks."""

    path: Path
    template: ContentTemplate | None
    problems: list[Problem] = field(default_factory=list)
    spots: dict[str, tuple[int, int]] = field(default_factory=dict)


def content_files(root: Path, name: str) -> dict[str, Path]:
    """Locale ("" for the default) -> file, for ``root/name/whatsapp[.locale].yaml``."""
    folder = root / name
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("whatsapp*.yaml")):
        parts = path.name[: -len(".yaml")].split(".")
        if parts[0] != "whatsapp" or len(parts) > 2:
            continue
        found[parts[1] if len(parts) == 2 else ""] = path
    return found


def load_content(path: Path) -> ContentFile:
    try:
        doc = load_located(path.read_text(encoding="utf-8"), str(path))
    except YamlProblem as exc:
        return ContentFile(path, None, [exc.problem])
    except (OSError, UnicodeDecodeError) as exc:
        return ContentFile(path, None, [Problem(str(path), 1, 1, f"cannot read file: {exc}")])
    out = ContentFile(path, None)
    data = doc.data
    if not isinstance(data, dict) or not data:
        _fail(out, doc, (), "a WhatsApp template needs content_sid (and its variables)", EXAMPLE)
        return out
    for key in data:
        if key not in CONTENT_KEYS:
            hint = did_you_mean(key, CONTENT_KEYS)
            _fail(out, doc, (key,), f"unknown key {key!r} in a WhatsApp template", hint, True)
    sid = data.get("content_sid")
    if sid is None:
        _fail(out, doc, (), "content_sid is missing", SID_HINT)
    elif not isinstance(sid, str) or not CONTENT_SID.match(sid):
        _fail(out, doc, ("content_sid",), f"content_sid {sid!r} is not a Content SID", SID_HINT)
    variables = _variables(out, doc, data.get("variables"))
    if not out.problems:
        out.template = ContentTemplate(sid=str(sid), variables=variables)
    return out


def _variables(out: ContentFile, doc: Located, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        _fail(out, doc, ("variables",), "variables must map numbers to expressions", VARIABLES_HINT)
        return {}
    numbers = [str(n) for n in range(1, len(raw) + 1)]
    found: dict[str, str] = {}
    for key, value in raw.items():
        if key not in numbers:
            gap = ", ".join(n for n in numbers if n not in raw)
            _fail(
                out,
                doc,
                ("variables", key),
                f"variable {key!r}: variables are numbered 1 to {len(raw)} without gaps"
                + (f" ({gap} missing)" if gap and key.isdigit() else ""),
                VARIABLES_HINT,
                True,
            )
            continue
        if not isinstance(value, str) or not value.strip():
            shown = "nothing" if value is None else repr(value)
            _fail(
                out,
                doc,
                ("variables", key),
                f"variable {key} is {shown}, not an expression",
                VALUE_HINT,
            )
            continue
        try:
            _compiled(value)
        except TemplateProblem as exc:
            _fail(out, doc, ("variables", key), f"variable {key}: {exc}", VALUE_HINT)
            continue
        found[key] = value
        out.spots[key] = doc.where(("variables", key))
    return dict(sorted(found.items(), key=lambda item: int(item[0])))


def _fail(
    out: ContentFile,
    doc: Located,
    path: tuple[str, ...],
    message: str,
    hint: str,
    key: bool = False,
) -> None:
    out.problems.append(doc.problem(path, message, hint, key=key))


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"invalid expression {source!r}: {exc.message}") from None


def variable_value(key: str, source: str, context: dict[str, Any]) -> str:
    """One variable's text; TemplateProblem when data is missing, null or not a single value.
    Call inside ``spending(limits)``."""
    try:
        value = _compiled(source)(**context)
        if isinstance(value, Undefined):
            str(value)  # StrictUndefined says what is missing
    except TemplateProblem:
        raise
    except LimitExceeded as exc:
        raise TemplateProblem(f"variable {key} ({source}): {exc}", limit=exc.limit) from None
    except Exception as exc:  # the sandbox raises several types; all mean "cannot evaluate"
        raise TemplateProblem(f"variable {key} ({source}): {exc}") from None
    if value is None:
        raise TemplateProblem(f"variable {key} ({source}) is empty (null)")
    if isinstance(value, (dict, list, tuple, set)):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        raise TemplateProblem(f"variable {key} ({source}) is {kind}, not one value")
    text = str(value)
    try:
        _ENV.emitted(len(text))  # every variable together within the output and time limits
    except LimitExceeded as exc:
        raise TemplateProblem(f"variable {key} ({source}): {exc}", limit=exc.limit) from None
    return text


def content_message(
    template: ContentTemplate,
    context: dict[str, Any],
    *,
    locale: str = "",
    limits: Limits = TEMPLATE_LIMITS,
) -> Rendered:
    """The approved template with its variables filled in for one customer. CPU-bound and
    bounded by ``limits``, like ``render``."""
    with spending(limits):
        filled = {k: variable_value(k, v, context) for k, v in template.variables.items()}
    return Rendered(
        channel="whatsapp", locale=locale, content_sid=template.sid, content_variables=filled
    )


def content_schema() -> dict[str, Any]:
    """JSON Schema of ``whatsapp[.<locale>].yaml`` (``omni schema --whatsapp``)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["content_sid"],
        "description": "A WhatsApp template approved by WhatsApp (Twilio Content API)",
        "properties": {
            "content_sid": {
                "type": "string",
                "pattern": CONTENT_SID.pattern,
                "description": SID_HINT,
            },
            "variables": {
                "type": "object",
                "description": VARIABLES_HINT,
                "propertyNames": {"pattern": r"^[1-9][0-9]*$"},
                "additionalProperties": {"type": "string", "description": VALUE_HINT},
            },
        },
    }

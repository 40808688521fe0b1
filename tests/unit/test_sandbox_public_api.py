"""The limited sandbox stands on Jinja2's public API only (no code generator of its own, no
private hook overridden), so a Jinja upgrade cannot silently switch a limit off; the
hostile templates in test_template_limits.py hold each limit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from orchestrator.language import limits, sandbox
from orchestrator.language.limits import Limits
from orchestrator.language.sandbox import LimitedEnvironment
from orchestrator.language.templates import TemplateProblem, render

PUBLIC_JINJA_MODULES = {"jinja2", "jinja2.sandbox", "jinja2.exceptions", "jinja2.runtime"}


def test_only_public_jinja_modules_are_imported() -> None:
    for module in (sandbox, limits):
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jinja2")
        }
        assert imported <= PUBLIC_JINJA_MODULES, module.__name__


def test_no_private_jinja_member_is_overridden() -> None:
    assert LimitedEnvironment.code_generator_class is SandboxedEnvironment.code_generator_class
    ours = {n for n in vars(LimitedEnvironment) if n.startswith("_") and not n.startswith("__")}
    assert not {n for n in ours if hasattr(SandboxedEnvironment, n)}


@pytest.mark.parametrize("hook", ["omni:size", "omni:text", "omni:iterations"])
def test_templates_cannot_name_the_limit_hooks(hook: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        render("sms", "{% block text %}{{ 'a' | " + hook + " }}{% endblock %}", {})


def test_constant_text_in_a_loop_is_counted_when_it_runs_not_when_it_compiles() -> None:
    body = "{% block text %}{% for i in range(n) %}0123456789{% endfor %}{% endblock %}"
    small = Limits(max_output=1_000)
    assert len(render("sms", body, {"n": 100}, limits=small).text) == 1_000
    with pytest.raises(TemplateProblem) as info:
        render("sms", body, {"n": 101}, limits=small)
    assert info.value.limit == "output"

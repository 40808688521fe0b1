"""The layout's rules: import contracts, module size, one reader of the environment (the
settings, through pydantic-settings), the configuration table generated from the settings."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

from orchestrator.config.settings import load_settings
from orchestrator.config.variables import config_markdown

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    *sorted((ROOT / "orchestrator").rglob("*.py")),
    *sorted((ROOT / "channels").rglob("*.py")),
]
#: A smell check, not a reason to split: modules are split by concept (DESIGN.md); past this
#: length a module likely holds more than one.
MAX_LINES = 600
#: Uses of ``os.environ`` allowed, and why: the settings read the environment through
#: pydantic-settings (``orchestrator/config/settings.py``), and nothing else reads it.
ENV_USERS = {
    "channels/telegram.py": "a python-telegram-bot library switch, set before import",
}
#: The one module that hands the environment to pydantic-settings.
SETTINGS_READER = "orchestrator/config/settings.py"


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"look at these modules (over {MAX_LINES} lines): one concept each? {long}"


def test_every_package_says_what_belongs_and_what_it_may_import() -> None:
    for init in [*(ROOT / "orchestrator").glob("*/__init__.py"), ROOT / "channels/__init__.py"]:
        if "migrations" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc.lower(), f"{init.relative_to(ROOT)}: say what it may import"


def test_the_workflow_is_composed_not_inherited() -> None:
    """ScenarioWorkflow holds its collaborators (docs/architecture.md, "The workflow"): no
    class of the workflow package derives from another class, so no base calls into a
    subclass and each collaborator's inputs are its constructor's arguments."""
    import orchestrator.engine.workflow as package
    from orchestrator.engine.workflow import ScenarioWorkflow

    assert ScenarioWorkflow.__bases__ == (object,), ScenarioWorkflow.__mro__
    derived = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for cls in vars(module).values():
            ours = inspect.isclass(cls) and cls.__module__ == module.__name__
            if ours and cls.__bases__ not in ((object,), (Exception,)):
                derived[cls.__qualname__] = cls.__bases__
    assert derived == {}


def test_only_the_settings_read_the_environment() -> None:
    users, readers = set(), set()
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        name = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                users.add(name)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "pydantic_settings"
            ):
                readers.add(name)
    assert users <= set(ENV_USERS), users - set(ENV_USERS)
    assert readers == {SETTINGS_READER}


def test_configuration_table_is_generated_from_the_settings() -> None:
    readme = (ROOT / "docs" / "operations.md").read_text()
    start = readme.index("<!-- config:start")
    body = readme[readme.index("\n", start) + 1 : readme.index("<!-- config:end -->")]
    assert body == config_markdown(), (
        "regenerate: python -c 'from orchestrator.config.variables import config_markdown; "
        'print(config_markdown(), end="")\''
    )


def test_every_variable_names_a_field_and_is_declared_once() -> None:
    from orchestrator.config.variables import SETTINGS

    seen: list[str] = []
    for group in SETTINGS:
        for var in group.vars:
            seen.append(var.env)
            for target in (f"{group.name}.{var.field}", *var.also):
                name, _, field = target.partition(".")
                cls = next(g.cls for g in SETTINGS if g.name == name)
                assert field in cls.model_fields, f"{var.env} sets {cls.__name__}.{field}"
    assert sorted(seen) == sorted(set(seen)), "a variable declared twice"


def test_settings_group_variables_and_hide_secrets() -> None:
    secrets = {
        "OMNI_TEMPORAL_API_KEY": "temporal-key-SECRET1",
        "DATABASE_URL": "postgresql+asyncpg://omni:db-pass-SECRET2@db.internal:5432/omni",
        "OMNI_TRACKING_SECRET": "tracking-SECRET3-" + "x" * 32,
        "OMNI_SMTP_HOST": "smtp.example.com",
        "OMNI_SMTP_PASSWORD": "smtp-SECRET4",
        "OMNI_TELEGRAM_BOT_TOKEN": "123:bot-SECRET5",
        "OMNI_TWILIO_ACCOUNT_SID": "AC123",
        "OMNI_TWILIO_AUTH_TOKEN": "twilio-SECRET6",
        "OMNI_TWILIO_FROM": "+15550001111",
        "OMNI_VAPID_PRIVATE_KEY": "vapid-SECRET7",
        "OMNI_VAPID_SUBJECT": "mailto:ops@example.com",
        "OMNI_TELEGRAM_SECRET_TOKEN": "hook-SECRET8",
        "OMNI_PUBLIC_URL": "https://omni.example.com/",
        "OMNI_API_PORT": "9001",
        "OMNI_SMS_MAX_SEGMENTS": "2",
        "OMNI_STRICT_EVENTS": "yes",
        "OMNI_FREQUENCY_CAPS": "3 per 1d, 1 sms per 7d",
        "OMNI_TRACKING_PREVIOUS": "old-SECRET9-" + "y" * 32 + ",older-SECRET10-" + "z" * 32,
    }
    config = load_settings(secrets)
    assert config.listen.port == 9001 and config.api.strict_events is True
    assert config.sms is not None and config.sms.max_segments == 2
    assert config.sms.status_callback_url == "https://omni.example.com/webhooks/twilio/status"
    assert config.email is not None and config.email.password.get_secret_value() == "smtp-SECRET4"
    assert config.store.url.endswith("@db.internal:5432/omni")
    assert config.policy.caps == ("3 per 1d", "1 sms per 7d")
    assert [c.limit for c in config.policy.parsed()] == [3, 1]
    assert len(config.tracking.previous) == 2 and config.tracking.previous[
        0
    ].get_secret_value().startswith("old-")
    for shown in (repr(config), str(config), config.model_dump_json()):
        assert "SECRET" not in shown, f"a secret leaks: {shown}"


def test_a_half_configured_channel_is_a_clear_error() -> None:
    import pytest

    with pytest.raises(ValueError, match="OMNI_VAPID_SUBJECT"):
        load_settings({"OMNI_VAPID_PRIVATE_KEY": "k"})
    with pytest.raises(ValueError, match="OMNI_API_PORT"):
        load_settings({"OMNI_API_PORT": "eighty"})
    with pytest.raises(ValueError, match="OMNI_FREQUENCY_CAPS"):
        load_settings({"OMNI_FREQUENCY_CAPS": "lots per day"})


def test_list_settings_come_from_comma_separated_variables() -> None:
    config = load_settings({"OMNI_FREQUENCY_CAPS": "4 per 1d, 1 sms per 2d"})
    assert config.policy.caps == ("4 per 1d", "1 sms per 2d")
    assert len(config.policy.parsed()) == 2

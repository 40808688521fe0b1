"""``omni --help``: plain text, every command listed, the temporal binary named."""

from __future__ import annotations

import contextlib
import io

import pytest

from orchestrator import cli


def test_help_is_plain_text_and_lists_every_command() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main(["--help"])
    text = out.getvalue()
    assert "``" not in text and ":py:" not in text
    listed = {line.split()[0] for line in text.splitlines() if line.startswith("    ")}
    assert set(cli._COMMANDS) <= listed, set(cli._COMMANDS) - listed
    assert ".venv/bin/temporal" in text

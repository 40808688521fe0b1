"""axe-core for the accessibility checks of the browser tests: one pinned version, installed
from npm into tests/output/axe (by .ci/run, or at test time when missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

AXE_VERSION = "4.14.1"
AXE_DIR = Path(__file__).resolve().parent / "output" / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path:
    """The path of axe.min.js; skips (a failure under CI=true) when npm cannot provide it."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the accessibility check needs npm (for axe-core)")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AXE_DIR),
                f"axe-core@{AXE_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode or not AXE.exists():
            pytest.skip(f"axe-core could not be installed from npm: {done.stderr[-300:]}")
    return AXE

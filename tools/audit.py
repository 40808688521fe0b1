"""``make audit``: pip-audit against requirements.lock, with an honest verdict.

pip-audit reports "No known vulnerabilities found" even when it could not look a single package
up (an index proxy that serves /simple but not PyPI's JSON API answers 404, and every package is
then "skipped"). This script says plainly when the advisory database could not be reached or
the audit is incomplete, and exits 2 then: 0 means every locked package was checked and none
has a known advisory, 1 means advisories were found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

NOT_DONE, FOUND, CLEAN = 2, 1, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lock", nargs="?", default="requirements.lock")
    parser.add_argument("--service", default="pypi", help="pypi (PyPI's JSON API) or osv")
    parser.add_argument("--pip-audit", default=str(Path(sys.executable).parent / "pip-audit"))
    args = parser.parse_args(argv)
    service = args.service
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        done = subprocess.run(
            [
                args.pip_audit,
                *("--requirement", args.lock, "--require-hashes", "--disable-pip"),
                *("--vulnerability-service", service, "--progress-spinner", "off"),
                *("--format", "json", "--output", str(report)),
            ],
            capture_output=True,
            text=True,
        )
        text = report.read_text() if report.exists() else ""
    if not text.strip():
        print(f"AUDIT NOT DONE: pip-audit could not query the {service} advisory database.")
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        print(f"pip-audit said: {lines[-1][:500]}")
        return NOT_DONE
    deps = json.loads(text)["dependencies"]
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions", [])) or "no fix yet"
            print(f"VULNERABLE  {d['name']} {d['version']}: {v['id']} (fixed in {fixes})")
    if skipped:
        every = " (none could: the database is unreachable from here)"
        print(
            f"AUDIT NOT DONE: {len(skipped)} of {len(deps)} locked packages could not be looked "
            f"up in the {service} advisory database, so there is no verdict for them"
            + (every if len(skipped) == len(deps) else "")
            + f". First reason: {skipped[0]['skip_reason']}"
        )
        if vulnerable:
            print(f"{len(vulnerable)} package(s) with known advisories among those checked.")
        return NOT_DONE
    if vulnerable:
        return FOUND
    print(f"audited {len(deps)} locked packages against {service}: no known vulnerabilities")
    return CLEAN


if __name__ == "__main__":
    sys.exit(main())

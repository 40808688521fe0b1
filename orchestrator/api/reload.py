"""Scenario changes reach new runs without a restart.

Every API process watches the scenario and template folders; when a file changes and the whole
folder still validates, new runs start with the new version. A change that does not validate is
reported (file:line) and the running version stays. Runs in flight keep the version they
started with, and workers need nothing: a run's definition, templates included, travels in its
input.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from orchestrator.engine.router import Router
from orchestrator.language.loader import load_all

log = logging.getLogger(__name__)


class ScenarioWatcher:
    def __init__(self, router: Router, scenario_dirs: list[Path], templates_dir: Path) -> None:
        self.router = router
        self.scenario_dirs = scenario_dirs
        self.templates_dir = templates_dir
        self._seen = self.fingerprint()
        self._refused: tuple[tuple[str, int, int], ...] | None = None

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        files = [
            f
            for folder in [*self.scenario_dirs, self.templates_dir]
            if folder.exists()
            for f in sorted(folder.rglob("*"))
            if f.is_file()
        ]
        return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)

    async def check(self) -> bool:
        """Load the folders again if a file changed; True if new runs now use new versions."""
        current = await asyncio.to_thread(self.fingerprint)
        if current == self._seen or current == self._refused:
            return False
        scenarios, problems = await asyncio.to_thread(
            load_all, self.scenario_dirs, self.templates_dir
        )
        if problems:
            self._refused = current
            log.error(
                "scenario change refused, new runs keep the running versions:\n%s",
                "\n".join(str(p) for p in problems),
            )
            return False
        self._seen, self._refused = current, None
        before = {s.id: s.version for s in self.router.scenarios.values()}
        self.router.use({s.id: s for s in scenarios})
        changed = {s.id: s.version for s in scenarios if before.get(s.id) != s.version}
        if changed:
            versions = ", ".join(f"{sid} {version}" for sid, version in sorted(changed.items()))
            log.info("scenario change accepted: new runs start with %s", versions)
        else:
            log.info("scenario change accepted: no version changed")
        return True

    async def run_forever(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except OSError as exc:  # a file vanished mid-read: the next round sees it
                log.warning("scenario folder unreadable: %s", exc)

"""Templates by scenario version: stored once, not carried by every run and every send.

A version is a content hash of a scenario with its templates, so what a version names never
changes and may be cached forever. Runs of engine revision 1 and later carry only the steps;
their sends name the version, and the send activity finds the templates here: in this process
(every scenario it or its router loaded) or in the store (a version another process loaded — the
API after an edit, or an older version after a restart or on another worker). The router
publishes a version to the store before it starts the first run of it.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from typing import Any, Protocol

from orchestrator.language.model import Scenario

#: version -> "<template>/<channel>" -> locale -> source. Content-addressed: never stale.
Templates = dict[str, dict[str, str]]
_KNOWN: dict[str, Templates] = {}


class UnknownVersion(LookupError):
    """No process and no store holds this scenario version's templates."""


class VersionStore(Protocol):
    async def save(self, version: str, scenario: str, templates: Templates) -> None: ...

    async def load(self, version: str) -> Templates | None: ...


def steps_only(scenario: Scenario) -> Scenario:
    """What a run of revision 1 carries: the definition without templates and samples (its
    sends find the templates by version), the description and the source file."""
    return dataclasses.replace(scenario, templates={}, samples={}, description="", source="")


def remember(scenario: Scenario) -> None:
    """This process knows ``scenario``'s templates (loading a scenario calls it)."""
    if scenario.version:
        _KNOWN.setdefault(scenario.version, scenario.templates)


class Definitions:
    def __init__(self, store: VersionStore | None = None) -> None:
        self.store = store
        self._published: set[str] = set()
        self._lock = asyncio.Lock()

    async def publish(self, scenario: Scenario) -> None:
        """Make ``scenario``'s version findable by every worker (once per process)."""
        remember(scenario)
        if self.store is None or scenario.version in self._published:
            return
        async with self._lock:
            if scenario.version not in self._published:
                await self.store.save(scenario.version, scenario.id, scenario.templates)
                self._published.add(scenario.version)

    async def templates(self, version: str) -> Templates:
        found = _KNOWN.get(version)
        if found is None and self.store is not None:
            found = await self.store.load(version)
            if found is not None:
                _KNOWN[version] = found
        if found is None:
            raise UnknownVersion(f"scenario version {version} is not known to this worker")
        return found

    async def sources(self, version: str, template: str, channel: str) -> dict[str, str]:
        """One template's sources by locale ({} when the version has none for the channel)."""
        return dict((await self.templates(version)).get(f"{template}/{channel}", {}))


class InMemoryEventData:
    """Events' data by id in a dict, kept as the SQL event store keeps it (an id keeps the
    data it first came with): the simulator's and tests' stand-in for the API's store."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def keep(self, event_id: str, data: dict[str, Any]) -> None:
        """Store an event as the API does before routing it; a repeated id changes nothing."""
        self.data.setdefault(event_id, copy.deepcopy(data))

    async def data_of(self, event_id: str) -> dict[str, Any] | None:
        found = self.data.get(event_id)
        return copy.deepcopy(found) if found is not None else None

"""Reading Prometheus text metrics: the Temporal dev server's ``action`` counter (what
Temporal Cloud would bill, by the server's own count) and the SDK's worker metrics."""

from __future__ import annotations

import asyncio
import re
import urllib.request

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)")


def scrape(port: int, host: str = "127.0.0.1") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as answer:
        return str(answer.read().decode())


def total(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    found = 0.0
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or m["name"] != name:
            continue
        if all(w in (m["labels"] or "") for w in wanted):
            found += float(m["value"])
    return found


class ActionCounter:
    """The dev server's billable-action counter for one namespace."""

    def __init__(self, port: int, namespace: str = "default") -> None:
        self.port, self.namespace = port, namespace

    async def now(self) -> float:
        text = await asyncio.to_thread(scrape, self.port)
        return total(text, "action", namespace=self.namespace)

    async def settled(self, pause: float = 0.6, timeout: float = 15.0) -> float:
        """The count once it stops moving (the server reports metrics about once a second)."""
        last = await self.now()
        waited = 0.0
        while waited < timeout:
            await asyncio.sleep(pause)
            waited += pause
            value = await self.now()
            if value == last and waited >= 1.5:
                return value
            last = value
        return last

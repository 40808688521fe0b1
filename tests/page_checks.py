"""What every console page must pass in a browser: no table wider than its container and no
serious or critical axe-core violation (tests/console/test_console_layout.py and the pages
that only some stacks have)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console_browser import Tab

OVERFLOWING = """() => [...document.querySelectorAll('table')].map(t => {
    const box = t.parentElement;
    return {table: t.id || t.className || 'table', scroll: box.scrollWidth, client: box.clientWidth,
            page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth};
}).filter(x => x.scroll > x.client + 1 || x.page > x.view + 1)"""

AXE_RUN = """async () => {
    const found = await axe.run(document, {resultTypes: ['violations']});
    return found.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


async def check(
    t: Tab, name: str, axe: Path, overflow: dict[str, Any], violations: dict[str, Any]
) -> None:
    if found := await t.page.evaluate(OVERFLOWING):
        overflow[name] = found
    await t.page.add_script_tag(path=str(axe))
    if found := await t.page.evaluate(AXE_RUN):
        violations[name] = found

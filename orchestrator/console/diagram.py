"""A scenario's flow as SVG, drawn from the validated model (no browser layout, no CDN).

Top to bottom: the trigger, every step (waits, sends, ladders with their rungs, ``if``
branches and ``wait_for`` outcomes side by side, stops), the end; goal, exits and policies
in a column beside it. Every step's box carries ``data-step="<path>"`` (the send log's step
path), so the console can put the funnel's counts on the diagram and tests can find each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from orchestrator.language.durations import format_duration
from orchestrator.language.model import (
    DEFAULT_GOAL_WINDOW_S,
    BestTime,
    EventMatch,
    Scenario,
    Step,
)
from orchestrator.language.names import derived_name, moment, spoken_duration

BOX_W = 236
BOX_H = 46
GAP = 30
COL_GAP = 28
MARGIN = 16
SIDE_W = 250
COLOURS = {
    "trigger": "#dbeafe",
    "wait": "#f3f4f6",
    "send": "#dcfce7",
    "rung": "#dcfce7",
    "escalate": "#fef9c3",
    "if": "#ede9fe",
    "wait_for": "#ede9fe",
    "stop": "#fee2e2",
    "end": "#e5e7eb",
    "goal": "#d1fae5",
    "exit": "#fee2e2",
    "policy": "#f3f4f6",
}


@dataclass
class Block:
    """Drawn parts relative to (0, 0); the flow enters at the top centre, leaves at the bottom
    centre unless ``ends`` (a stop)."""

    w: float
    h: float
    parts: list[str] = field(default_factory=list)
    ends: bool = False


def _t(text: str, limit: int = 34) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _box(
    x: float, y: float, kind: str, title: str, detail: str = "", *, step: str = "", note: str = ""
) -> str:
    data = f' data-step="{escape(step)}"' if step else ""
    rx = 22 if kind in ("trigger", "end", "stop", "goal", "exit") else 6
    tip = " — ".join(part for part in (" ".join(title.split()), detail) if part)
    lines = [
        f'<g class="node {kind}"{data} transform="translate({x:g},{y:g})">',
        f"<title>{escape(tip)}</title>",
        f'<rect width="{BOX_W}" height="{BOX_H}" rx="{rx}" fill="{COLOURS[kind]}" '
        'stroke="#6b7280"/>',
        f'<text x="{BOX_W / 2:g}" y="{19 if detail else 28}" text-anchor="middle" '
        f'font-weight="600">{_t(title)}</text>',
    ]
    if detail:
        lines.append(
            f'<text x="{BOX_W / 2:g}" y="36" text-anchor="middle" fill="#374151">'
            f"{_t(detail, 36)}</text>"
        )
    if note:
        lines.append(
            f'<text class="count" x="{BOX_W + 6}" y="28" fill="#1d4ed8" font-size="11">'
            f"{_t(note, 60)}</text>"
        )
    lines.append("</g>")
    return "".join(lines)


def _line(x1: float, y1: float, x2: float, y2: float, label: str = "") -> str:
    path = f'<path d="M{x1:g},{y1:g} V{(y1 + y2) / 2:g} H{x2:g} V{y2:g}" fill="none" '
    out = path + 'stroke="#6b7280" marker-end="url(#arrow)"/>'
    if label:
        out += (
            f'<text x="{x2 + 4:g}" y="{y2 - 8:g}" font-size="11" fill="#6b7280">'
            f"{_t(label, 30)}</text>"
        )
    return out


def _at(dx: float, dy: float, block: Block) -> str:
    return f'<g transform="translate({dx:g},{dy:g})">{"".join(block.parts)}</g>'


def _match(m: EventMatch) -> str:
    return m.event + (f" when {m.when}" if m.when else "")


def held(best: BestTime) -> str:
    """``best hour in 24 h``: a send or rung with ``at: best_time``."""
    return f"best hour in {spoken_duration(best.within_s)}"


def _minutes(seconds: int) -> str:
    """``30 min``, ``2 h``, ``1 d 12 h`` for a digest window."""
    if seconds % 60 or seconds < 60:
        return format_duration(seconds)
    if seconds < 3600 or seconds % 3600:
        return f"{seconds // 60} min"
    return format_duration(seconds).replace("d", " d ").replace("h", " h").strip()


class Drawer:
    def __init__(self, notes: dict[str, str] | None = None) -> None:
        self.notes = notes or {}

    def node(self, kind: str, title: str, detail: str = "", step: str = "") -> Block:
        note = self.notes.get(step, "") if step else ""
        return Block(BOX_W, BOX_H, [_box(0, 0, kind, title, detail, step=step, note=note)])

    def steps(self, steps: list[Step], label: str = "") -> Block:
        if not steps:
            return Block(BOX_W, 20, [_line(BOX_W / 2, 0, BOX_W / 2, 20, label)])
        blocks = [self.step(s) for s in steps]
        width = max(b.w for b in blocks)
        out = Block(width, 0)
        y = 0.0
        for i, b in enumerate(blocks):
            if i:
                if not blocks[i - 1].ends:
                    out.parts.append(_line(width / 2, y, width / 2, y + GAP))
                y += GAP
            out.parts.append(_at((width - b.w) / 2, y, b))
            y += b.h
        out.h, out.ends = y, blocks[-1].ends
        return out

    def step(self, s: Step) -> Block:
        if s.kind == "wait":
            return self.node("wait", s.name or f"Wait {spoken_duration(s.wait_s)}", step=s.path)
        if s.kind == "wait_until":
            if s.at_time:
                where = derived_name(s).removeprefix("Wait until ")
            else:
                where = moment(s.at or "", s.at_offset_s)
            return self.node("wait", s.name or "Wait until", where, step=s.path)
        if s.kind == "send":
            how = s.channels[0] if len(s.channels) == 1 else "first of " + ", ".join(s.channels)
            title = s.name or f"Send {how}"
            detail = f"{how}: {s.template}" if s.name else s.template or ""
            if s.best_time is not None:
                detail = f"{held(s.best_time)} · {detail}"
            return self.node("send", title, detail, step=s.path)
        if s.kind == "stop":
            block = self.node("stop", s.name or f"Stop: {s.reason or 'stopped'}", step=s.path)
            block.ends = True
            return block
        if s.kind == "escalate":
            return self.ladder(s)
        if s.kind == "if":
            head = self.node("if", s.name or f"If {s.condition or ''}", step=s.path)
            return self.fork(head, (s.then, "then"), (s.otherwise, "else"))
        if s.kind == "wait_for":
            events = " or ".join(_match(m) for m in s.events)
            timeout = spoken_duration(s.timeout_s)
            title = s.name or f"Wait for {events}"
            head = self.node("wait_for", title, f"up to {timeout}", s.path)
            return self.fork(head, (s.on_event, "on event"), (s.on_timeout, "on timeout"))
        if s.kind == "collect" and s.collect is not None:
            c = s.collect
            key = f", one per {c.key}" if c.key else ""
            detail = f"for {_minutes(c.window_s)} (max {c.max}){key}"
            return self.node("wait_for", f"collect {c.event}", detail, s.path)
        if s.kind == "split":
            head = self.node("if", s.name or "Split", "each customer in one variant", s.path)
            return self.fork(head, *[(v.steps, v.name) for v in s.variants])
        return self.node("wait", s.kind, step=s.path)

    def ladder(self, s: Step) -> Block:
        how = {
            (False, False): "a reaction stops the ladder",
            (True, False): "learned order; reaction stops it",
            (False, True): "costed rungs; reaction stops it",
            (True, True): "learned order · costed rungs",
        }[(s.order == "learned", bool(s.costs))]
        out = self.node("escalate", s.name or "Ladder", how, s.path)
        y = float(BOX_H)
        for i, rung in enumerate(s.rungs):
            path = f"{s.path}.rung{i + 1}"
            label = "" if i == 0 else f"no reaction in {spoken_duration(s.rungs[i - 1].wait_s)}"
            out.parts.append(_line(BOX_W / 2, y, BOX_W / 2, y + GAP, label))
            y += GAP
            timed = f" · {held(rung.best_time)}" if rung.best_time is not None else ""
            rung_box = _box(
                0,
                y,
                "rung",
                f"{i + 1}. {rung.channel}{timed}",
                rung.template,
                step=path,
                note=self.notes.get(path, ""),
            )
            out.parts.append(rung_box)
            y += BOX_H
        if s.rungs and s.rungs[-1].wait_s:
            wait = spoken_duration(s.rungs[-1].wait_s)
            out.parts.append(_line(BOX_W / 2, y, BOX_W / 2, y + GAP, f"wait {wait}"))
            y += GAP
        out.h = y
        return out

    def fork(self, head: Block, *branches: tuple[list[Step], str]) -> Block:
        cols = [(self.steps(steps, ""), label) for steps, label in branches]
        width = max(head.w, sum(c.w for c, _ in cols) + COL_GAP * (len(cols) - 1))
        out = Block(width, 0, [_at((width - head.w) / 2, 0, head)])
        top = BOX_H + GAP
        bottom = top + max(c.h for c, _ in cols) + GAP
        x = (width - sum(c.w for c, _ in cols) - COL_GAP * (len(cols) - 1)) / 2
        for col, label in cols:
            centre = x + col.w / 2
            out.parts.append(_line(width / 2, BOX_H, centre, top, label))
            out.parts.append(_at(x, top, col))
            if not col.ends:
                out.parts.append(_line(centre, top + col.h, width / 2, bottom))
            x += col.w + COL_GAP
        out.h = bottom
        out.ends = all(c.ends for c, _ in cols)
        return out


def side_notes(s: Scenario) -> list[tuple[str, str, str]]:
    notes = [("goal", "goal → converted", _match(m)) for m in s.goals]
    notes += [("exit", "exit → exited", _match(m)) for m in s.exits]
    if s.quiet_hours is not None:
        q = s.quiet_hours
        notes.append(("policy", "quiet hours", f"{q.start}-{q.end} ({q.action})"))
    for cap in s.frequency_caps:
        scope = f"{cap.channel} " if cap.channel else ""
        notes.append(
            ("policy", "frequency cap", f"{cap.limit} {scope}per {format_duration(cap.window_s)}")
        )
    notes.append(("policy", "category", s.category))
    if s.holdout_pct:
        window = format_duration(s.goal_window_s or DEFAULT_GOAL_WINDOW_S)
        notes.append(("policy", f"holdout {s.holdout_pct:g}%", f"sent nothing; goal over {window}"))
    return notes


def diagram(s: Scenario, notes: dict[str, str] | None = None) -> str:
    """The SVG document; ``notes`` maps a step path to a short text drawn beside its box."""
    d = Drawer(notes)
    trig = s.trigger
    detail = " ".join(
        part for part in (trig.when and f"when {trig.when}", trig.per and f"per {trig.per}") if part
    )
    flow = d.steps(s.steps)
    head = _box(0, 0, "trigger", f"trigger: {trig.event}", detail, step="trigger")
    note_w = 150 if notes else 0
    main_w = max(flow.w, BOX_W) + note_w
    x0 = MARGIN + (max(flow.w, BOX_W) - BOX_W) / 2
    parts = [f'<g transform="translate({x0:g},{MARGIN})">{head}</g>']
    y: float = MARGIN + BOX_H + GAP
    parts.append(_line(x0 + BOX_W / 2, MARGIN + BOX_H, x0 + BOX_W / 2, y))
    flow_x = MARGIN + (max(flow.w, BOX_W) - flow.w) / 2
    parts.append(_at(flow_x, y, flow))
    y += flow.h
    if not flow.ends:
        parts.append(_line(x0 + BOX_W / 2, y, x0 + BOX_W / 2, y + GAP))
        y += GAP
        end = _box(0, 0, "end", "end", "reacted · exhausted · completed", step="end")
        parts.append(f'<g transform="translate({x0:g},{y:g})">{end}</g>')
        y += BOX_H
    side_x = MARGIN + main_w + COL_GAP
    for i, (kind, title, detail) in enumerate(side_notes(s)):
        parts.append(_box(side_x, MARGIN + i * (BOX_H + 12), kind, title, detail))
    width = side_x + SIDE_W + MARGIN
    height = max(y, MARGIN + len(side_notes(s)) * (BOX_H + 12)) + MARGIN
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width:g}" '
        f'height="{height:g}" viewBox="0 0 {width:g} {height:g}" font-family="sans-serif" '
        f'font-size="13" role="img" aria-label="{escape(s.title or s.id)}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#6b7280"/></marker></defs>'
        f"<title>{escape(s.title or s.id)}</title>{''.join(parts)}</svg>"
    )

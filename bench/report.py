"""Medians with the full range, per figure and commit, from the benches' results logs.

    .venv/bin/python bench/report.py [engine ingest day ...]   # every figure, every commit
    .venv/bin/python bench/report.py --docs                    # rewrite docs/scaling.md's blocks

Every run a bench makes is a line of ``bench/results/<bench>.jsonl`` (bench/runlog.py). For
each commit measured, a figure's median is taken over every run at that commit (a round
figure's over every round of every run) and printed with its minimum and maximum and how many
values there were — nothing is left out, so a bad round shows in the range.

docs/scaling.md quotes a few figures of each bench in blocks this script writes
(``<!-- bench report: engine @ <commit> -->`` … ``<!-- /bench report -->``); ``--docs``
re-renders every block for the newest commit in its log (runs with uncommitted changes are
reported, never quoted), and tests/unit/test_bench_report.py checks that each block is what
this script renders from the log for the commit it names.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.runlog import RESULTS, read  # noqa: E402

DOCS = ROOT / "docs" / "scaling.md"
KINDS = ("hand", "omni")
BLOCK = re.compile(
    r"<!-- bench report: (?P<bench>[a-z_]+) @ (?P<commit>[0-9a-f]+) -->\n"
    r"(?P<body>.*?)"
    r"<!-- /bench report -->",
    re.S,
)


@dataclass(frozen=True)
class Quote:
    """A figure docs/scaling.md quotes: its label, where it is (``figures`` of each run or
    ``rounds``) and its key, and how to print it."""

    label: str
    where: str
    key: str
    fmt: str = "{:,.2f}"


#: What the docs quote of each bench.
QUOTES: dict[str, list[Quote]] = {
    "engine": [
        Quote("throughput, Omni / hand-written (each round)", "rounds", "throughput_ratio"),
        Quote(
            "CPU per run, client + worker process, Omni / hand (each round)", "rounds", "cpu_ratio"
        ),
        Quote("CPU per run, dev server, Omni / hand (each round)", "rounds", "server_cpu_ratio"),
        Quote(
            "CPU per run, client + worker process, hand (ms, each round)",
            "rounds",
            "hand_cpu_ms",
            "{:.1f}",
        ),
        Quote(
            "CPU per run, client + worker process, Omni (ms, each round)",
            "rounds",
            "omni_cpu_ms",
            "{:.1f}",
        ),
        Quote("history bytes per run, hand-written", "figures", "hand_history_bytes", "{:,.0f}"),
        Quote("history bytes per run, Omni", "figures", "omni_history_bytes", "{:,.0f}"),
        Quote("history, Omni / hand", "figures", "history_ratio"),
        Quote("bytes per extra rung, hand-written", "figures", "hand_rung_bytes", "{:,.0f}"),
        Quote("bytes per extra rung, Omni", "figures", "omni_rung_bytes", "{:,.0f}"),
        Quote("billable actions per run, hand-written", "figures", "hand_actions", "{:.0f}"),
        Quote("billable actions per run, Omni", "figures", "omni_actions", "{:.0f}"),
        Quote("actions per extra rung, Omni", "figures", "omni_rung_actions", "{:+.0f}"),
        Quote(
            "history with a 100 KB cart / the cart, hand-written", "figures", "hand_big_cart_ratio"
        ),
        Quote("history with a 100 KB cart / the cart, Omni", "figures", "omni_big_cart_ratio"),
    ],
    "ingest": [
        Quote("API / same start request (each round)", "rounds", "api_same_ratio"),
        Quote("API / lean start (each round)", "rounds", "api_lean_ratio"),
        Quote("same request / lean start (each round)", "rounds", "same_lean_ratio"),
        Quote("API process CPU per event (ms, each round)", "rounds", "api_cpu_ms"),
        Quote("API events/s (each round)", "rounds", "API_per_s", "{:,.0f}"),
        Quote("API latency p50 (ms)", "figures", "api_p50_ms", "{:,.0f}"),
        Quote("API latency p99 (ms)", "figures", "api_p99_ms", "{:,.0f}"),
    ],
    "day": [
        Quote("customers", "figures", "customers", "{:,.0f}"),
        Quote("events posted", "figures", "events", "{:,.0f}"),
        Quote("sustained events/s", "figures", "events_per_s", "{:,.1f}"),
        Quote("API latency p50 (ms)", "figures", "api_p50_ms", "{:,.0f}"),
        Quote("API latency p99 (ms)", "figures", "api_p99_ms", "{:,.0f}"),
        Quote("runs started", "figures", "runs", "{:,.0f}"),
        Quote("messages at the peers", "figures", "messages", "{:,.0f}"),
        Quote("messages delivered twice", "figures", "duplicates", "{:,.0f}"),
        Quote("sends recorded sent but missing at the peers", "figures", "missing", "{:,.0f}"),
        Quote("repeated events answered 'duplicate'", "figures", "duplicate_answers", "{:,.0f}"),
        Quote("runs still waiting when counted", "figures", "still_running", "{:,.0f}"),
        Quote("runs per customer", "figures", "runs_per_customer", "{:.2f}"),
        Quote("Temporal actions per event", "figures", "actions_per_event", "{:.2f}"),
        Quote("API CPU per event (ms)", "figures", "api_cpu_ms", "{:.2f}"),
        Quote("worker CPU per event (ms)", "figures", "worker_cpu_ms", "{:.2f}"),
        Quote("Temporal dev server CPU per event (ms)", "figures", "server_cpu_ms", "{:.2f}"),
        Quote("database bytes per customer", "figures", "db_bytes_per_customer", "{:,.0f}"),
        Quote("database bytes per message", "figures", "db_bytes_per_message", "{:,.0f}"),
        Quote("worker RSS, peak (MiB)", "figures", "worker_rss_mib", "{:,.0f}"),
        Quote("console funnel page (s)", "figures", "funnel_page_s", "{:.3f}"),
        Quote("console customer page (s)", "figures", "customer_page_s", "{:.3f}"),
    ],
}


def code(line: dict[str, Any]) -> str:
    """What a run measured: its commit, and a hash of the changes not committed yet."""
    changes = line.get("changes") or ("uncommitted" if line["dirty"] else "")
    return str(line["commit"]) + (f"+{changes}" if changes else "")


def by_commit(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Runs grouped by the code they measured, in the order it was first measured."""
    out: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        out.setdefault(code(line), []).append(line)
    return out


def values(runs: list[dict[str, Any]], where: str, key: str) -> list[float]:
    if where == "rounds":
        return [r[key] for run in runs for r in run["rounds"] if key in r]
    return [run["figures"][key] for run in runs if key in run["figures"]]


def spread(found: list[float], fmt: str) -> tuple[str, str]:
    """(median, "min-max") as text; the range is the median alone for one value."""
    if not found:
        return "—", "—"
    median = fmt.format(statistics.median(found))
    low, high = fmt.format(min(found)), fmt.format(max(found))
    return median, median if len(found) == 1 else f"{low}–{high}"


def header(runs: list[dict[str, Any]]) -> str:
    loads = [x for run in runs for x in (run["load_start"][0], run["load_end"][0])]
    dates = sorted({run["date"][:10] for run in runs})
    dirty = f" with uncommitted changes ({code(runs[0]).split('+')[1]})" if runs[0]["dirty"] else ""
    return (
        f"{len(runs)} run(s) at commit `{runs[0]['commit'][:10]}`{dirty}, "
        f"{', '.join(dates)}, {runs[0]['cpus']} CPUs, 1-minute load average "
        f"{min(loads):.1f}–{max(loads):.1f} during the runs"
    )


def clean(lines: list[dict[str, Any]], commit: str = "") -> list[dict[str, Any]]:
    """Runs of committed code (at ``commit``, a prefix, if given): the only ones docs quote."""
    return [x for x in lines if not x["dirty"] and x["commit"].startswith(commit)]


def quoted(bench: str, runs: list[dict[str, Any]]) -> list[str]:
    out = ["| figure | median | range (min–max) | values |", "|---|---|---|---|"]
    for q in QUOTES.get(bench, []):
        found = values(runs, q.where, q.key)
        median, low_high = spread(found, q.fmt)
        out.append(f"| {q.label} | {median} | {low_high} | {len(found)} |")
    return out


def parts_table(runs: list[dict[str, Any]]) -> list[str]:
    """bench/engine.py's history bytes per run by part (bench/history.py), hand and Omni."""
    names = sorted({k.split(" ", 1)[1] for run in runs for k in run["figures"] if "_part " in k})
    out = ["| history bytes per run, by part | hand-written | Omni |", "|---|---|---|"]
    for name in names:
        cells = [spread(values(runs, "figures", f"{k}_part {name}"), "{:,.0f}")[0] for k in KINDS]
        out.append(f"| {name} | {' | '.join(cells)} |")
    return out


def look_table(runs: list[dict[str, Any]]) -> list[str]:
    """bench/look.py's pages: billable calls by the API's client and the server's counter."""
    labels: dict[str, str] = {}
    for run in runs:
        labels |= run["notes"].get("pages", {})
    keys = list(
        dict.fromkeys(
            k.removesuffix("_billable").removesuffix("_server_actions")
            for run in runs
            for k in run["figures"]
        )
    )
    out = [
        "| page view | billable calls (API client) | actions (server's counter) |",
        "|---|---|---|",
    ]
    for key in keys:
        client = spread(values(runs, "figures", f"{key}_billable"), "{:g}")[1]
        server = spread(values(runs, "figures", f"{key}_server_actions"), "{:g}")[1]
        out.append(f"| {labels.get(key, key)} | {client} | {server} |")
    return out


def render(bench: str, commit: str, lines: list[dict[str, Any]]) -> str:
    """The docs block's body: tables of the quoted figures of every run at ``commit``."""
    runs = clean(lines, commit)
    if not runs:
        return f"No run of bench/{bench}.py at commit `{commit}` in bench/results/{bench}.jsonl.\n"
    out = [header(runs) + ":", ""]
    if bench == "look":
        out += look_table(runs)
    else:
        out += quoted(bench, runs)
    if bench == "engine":
        out += ["", *parts_table(runs)]
    if bench == "day":
        out += ["", *capacity(runs)]
    return "\n".join(out) + "\n"


#: Temporal Cloud's default namespace limit, actions per second (docs.temporal.io/cloud/limits).
NAMESPACE_APS = 500
#: The full day of bench/day.py --scale 1.
DAY_EVENTS = 1_000_000


def capacity(runs: list[dict[str, Any]]) -> list[str]:
    """The day's arithmetic from its medians: what one machine and one namespace carry."""

    def median(key: str) -> float:
        found = values(runs, "figures", key)
        return statistics.median(found) if found else float("nan")

    api, workers, server = median("api_cpu_ms"), median("worker_cpu_ms"), median("server_cpu_ms")
    per_event = api + workers + server
    cores = runs[0]["cpus"]
    machine = cores * 1000 / per_event
    actions = median("actions_per_event")
    average = DAY_EVENTS / 86_400
    return [
        f"One machine of {cores} cores, CPU only (PostgreSQL's own CPU on top): "
        f"{cores} × 1,000 ms / ({api:.2f} + {workers:.2f} + {server:.2f}) ms per event = "
        f"**{machine:,.0f} events/s**, {machine * 86_400 / 1e6:,.1f} M events a day at that "
        f"rate; a day of {DAY_EVENTS:,} events averages {average:.1f} events/s "
        f"({average * per_event / 1000 / cores:.0%} of those cores).",
        "",
        f"One Temporal Cloud namespace at its default {NAMESPACE_APS} actions/s: "
        f"{NAMESPACE_APS} / {actions:.2f} actions per event = **{NAMESPACE_APS / actions:,.0f} "
        f"events/s**; a day of {DAY_EVENTS:,} events averages "
        f"{average * actions:,.1f} actions/s ({average * actions / NAMESPACE_APS:.1%} of it).",
    ]


def block(bench: str, commit: str, lines: list[dict[str, Any]]) -> str:
    return (
        f"<!-- bench report: {bench} @ {commit[:10]} -->\n"
        f"{render(bench, commit, lines)}"
        "<!-- /bench report -->"
    )


def rewrite_docs(text: str, folder: Path = RESULTS) -> str:
    """Every block of ``text`` re-rendered for the newest commit in its bench's log."""

    def fresh(m: re.Match[str]) -> str:
        lines = read(m["bench"], folder)
        runs = clean(lines)
        return block(m["bench"], runs[-1]["commit"] if runs else m["commit"], lines)

    return BLOCK.sub(fresh, text)


def print_all(benches: list[str], folder: Path = RESULTS) -> None:
    for bench in benches:
        lines = read(bench, folder)
        print(f"== {bench}: {len(lines)} run(s) in bench/results/{bench}.jsonl")
        for runs in by_commit(lines).values():
            print(f"-- {header(runs)}")
            printed = sum(1 for run in runs if run["notes"].get("output"))
            if printed:
                print(f"   (the printed output of {printed} run(s) is in their 'output' notes)")
            for where in ("rounds", "figures"):
                keys = sorted({k for run in runs for r in _where(run, where) for k in r})
                for key in keys:
                    found = values(runs, where, key)
                    median, low_high = spread(found, "{:,.3f}")
                    what = "each round" if where == "rounds" else "each run"
                    print(f"   {key:<44} {median:>14}  ({low_high}; {len(found)}, {what})")


def _where(run: dict[str, Any], where: str) -> list[dict[str, Any]]:
    return list(run["rounds"]) if where == "rounds" else [run["figures"]]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", help="default: every log in bench/results")
    parser.add_argument("--docs", action="store_true", help=f"rewrite the blocks in {DOCS.name}")
    args = parser.parse_args()
    if args.docs:
        DOCS.write_text(rewrite_docs(DOCS.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"rewrote the bench report blocks of {DOCS.relative_to(ROOT)}")
    else:
        names = args.benches or sorted(p.stem for p in RESULTS.glob("*.jsonl"))
        print_all(names)

"""Scenario folder -> validated Scenario definitions (with their templates and version)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from orchestrator.language.checks import Checker
from orchestrator.language.content_templates import content_files, load_content
from orchestrator.language.errors import Problem, ScenarioInvalid
from orchestrator.language.model import Scenario, iter_steps
from orchestrator.language.parser import Parser
from orchestrator.language.templates import template_files
from orchestrator.language.yaml_source import YamlProblem, load_located


def scenario_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.y*ml")) if path.is_dir() else [path])
    return [f for f in files if f.suffix in (".yaml", ".yml")]


def load_file(path: Path, templates_dir: Path) -> tuple[Scenario | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, 1, f"cannot read file: {exc}", "")]
    try:
        doc = load_located(text, str(path))
    except YamlProblem as exc:
        return None, [exc.problem]
    parser = Parser(doc)
    scenario = parser.scenario()

    def locate(obj: object, name: str) -> tuple[int, int] | None:
        path = parser.spots.get((id(obj), name))
        return doc.where(path) if path is not None else None

    # Structural and semantic problems in one pass, in the order of the file.
    try:
        checked = Checker(scenario, templates_dir, locate).run(doc.where(("trigger",))[0])
    except Exception:  # a structurally broken scenario may trip a check: report the structure
        if not parser.problems:
            raise
        checked = []
    # A template used by several steps is checked for each: its problems are reported once.
    problems = sorted(
        dict.fromkeys(parser.problems + checked),
        key=lambda p: (p.file != str(path), p.file, p.line, p.column),
    )
    if problems:
        return None, problems
    attach_templates(scenario, templates_dir)
    scenario.version = version_of(scenario)
    return scenario, []


def attach_templates(scenario: Scenario, templates_dir: Path) -> None:
    """Copy every template the scenario uses into its definition (WhatsApp's approved ones
    too), so a run renders the exact text it started with even after marketers edit the
    files."""
    for step in iter_steps(scenario.steps):
        pairs = [(c, step.template) for c in step.channels] + [
            (r.channel, r.template) for r in step.rungs
        ]
        for channel, name in pairs:
            if name is None:
                continue
            files = template_files(templates_dir, name, channel)
            if files:  # a WhatsApp step may have only an approved template
                scenario.templates[f"{name}/{channel}"] = {
                    locale: p.read_text(encoding="utf-8") for locale, p in files.items()
                }
            if channel == "whatsapp":
                for locale, path in content_files(templates_dir, name).items():
                    approved = load_content(path).template
                    if approved is not None:  # validated: it is not None
                        scenario.content.setdefault(name, {})[locale] = approved


#: Fields added after scenarios were first versioned, with their defaults: left out of the
#: hash while at their default, so an unchanged scenario keeps its version across releases.
LATER_SCENARIO_FIELDS = {"holdout_pct": 0.0, "goal_window_s": None}
LATER_TRIGGER_FIELDS: dict[str, Any] = {"spread_s": None}
LATER_STEP_FIELDS: dict[str, Any] = {
    "order": "fixed",
    "costs": {},
    "value": None,
    "variants": [],
    "best_time": None,
}
LATER_RUNG_FIELDS: dict[str, Any] = {"best_time": None}
NESTED = ("then", "otherwise", "on_event", "on_timeout")


def _trimmed(node: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if not (k in later and v == later[k])}
    for key in ("steps", *NESTED):
        if isinstance(out.get(key), list):
            out[key] = [_trimmed(step, LATER_STEP_FIELDS) for step in out[key]]
    if "variants" in out:
        out["variants"] = [_trimmed(v, {}) for v in out["variants"]]
    if isinstance(out.get("rungs"), list):
        out["rungs"] = [_trimmed(rung, LATER_RUNG_FIELDS) for rung in out["rungs"]]
    return out


def version_of(scenario: Scenario) -> str:
    body = dataclasses.asdict(dataclasses.replace(scenario, version="", source=""))
    body = _trimmed(body, LATER_SCENARIO_FIELDS)
    body["trigger"] = _trimmed(body["trigger"], LATER_TRIGGER_FIELDS)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:12]


def load_all(paths: list[Path], templates_dir: Path) -> tuple[list[Scenario], list[Problem]]:
    """Every scenario under ``paths``; problems include duplicate scenario ids."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    files = scenario_files(paths)
    if not files:
        problems.append(
            Problem(
                ", ".join(map(str, paths)),
                1,
                1,
                "no scenario files found",
                "scenario files end in .yaml and live in scenarios/",
            )
        )
    for path in files:
        scenario, found = load_file(path, templates_dir)
        problems.extend(found)
        if scenario is None:
            continue
        if scenario.id in seen:
            problems.append(
                Problem(
                    str(path),
                    1,
                    1,
                    f"scenario id {scenario.id!r} is already used by {seen[scenario.id]}",
                    "give every scenario its own id",
                )
            )
            continue
        seen[scenario.id] = str(path)
        scenarios.append(scenario)
    return scenarios, problems


def load_or_raise(paths: list[Path], templates_dir: Path) -> dict[str, Scenario]:
    scenarios, problems = load_all(paths, templates_dir)
    if problems:
        raise ScenarioInvalid(problems)
    return {s.id: s for s in scenarios}

"""Docs that cannot rot: every shell and YAML example in README.md and docs/*.md is run or
checked, tables render, and internal links (files and #anchors) resolve.

- YAML: parsed; a scenario is validated with the scenario loader against the shipped templates,
  a WhatsApp template with its own loader; anything else must follow ``<!-- fragment -->``.
- Shell: each command is parsed — ``omni`` with its own argument parser (a renamed flag fails),
  ``make`` against the Makefile's targets — and the ``omni`` commands that need no running stack
  (validate, simulate, schema, diagram, key generators) are executed in a fresh copy of the
  repo's scenarios and templates. The first-message block (``<!-- first-message``) is run
  against ``omni dev`` by tests/dev/test_devstack.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orchestrator.cli_args import build_parser
from orchestrator.language.content_templates import load_content
from orchestrator.language.loader import load_all

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250
#: Fragments are the exception: each is a piece of a scenario that is validated whole elsewhere.
MAX_FRAGMENTS = 4
#: ``omni`` commands the examples may run without a stack; the rest are parsed only.
EXECUTED = {"validate", "simulate", "schema", "diagram", "codec-key", "vapid-keys"}
#: Other programs an example may name (they are not Omni's to check).
OTHER = {"ls", "mkdir", "export", "curl", "temporal", ".venv/bin/temporal", "cat"}
#: Of those, what an executed block runs too (its later commands may need them).
HARMLESS = {"ls", "mkdir", "export", "cat"}
LONGEST_CELL = 600


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    text: str
    marker: str  # the HTML comment right before the block, if any

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, lang = fence.groups()
        before = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        marker = before if before.startswith("<!--") else ""
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = "\n".join(ln[len(indent) :] for ln in lines[i + 1 : end])
        out.append(Block(page, i + 1, lang, body, marker))
        i = end + 1
    return out


ALL = [b for page in PAGES for b in blocks(page)]
YAML_BLOCKS = [b for b in ALL if b.lang in ("yaml", "yml")]
SHELL_BLOCKS = [b for b in ALL if b.lang in ("sh", "bash", "shell", "console")]


def commands(text: str) -> list[str]:
    """Each command of a shell block: continuation lines joined, comments and blanks left out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found, pending = [], ""
    for line in joined.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        if words:
            found.append(pending.strip())
        pending = ""
    assert not pending, f"an unclosed quote in {text!r}"
    return found


def simple_commands(command: str) -> list[list[str]]:
    """``a && b > f`` -> [[a], [b]]: the programs and their arguments, redirects left out."""
    lex = shlex.shlex(command, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = "#"
    parts: list[list[str]] = [[]]
    skip = False
    for word in lex:
        if skip:
            skip = False
            continue
        if word in ("&&", "||", ";", "|"):
            parts.append([])
        elif word in (">", ">>", "<", "2>"):
            skip = True
        else:
            parts[-1].append(word)
    # VAR=value before a program sets its environment: the program is what follows.
    return [
        words[next((i for i, w in enumerate(words) if "=" not in w), 0) :]
        for words in parts
        if words
    ]


def known_variables() -> set[str]:
    """Every variable Omni reads (the settings' table, the client's own two included)."""
    from orchestrator.config.variables import SETTINGS

    return {v.env for group in SETTINGS for v in group.vars}


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w.-]*):", text, re.M))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the repo's scenarios, templates and examples, with the venv linked."""
    where = tmp_path_factory.mktemp("docs-examples")
    for name in ("scenarios", "templates"):
        shutil.copytree(ROOT / name, where / name)
    shutil.copytree(ROOT / "docs" / "examples", where / "docs" / "examples")
    (where / ".venv").symlink_to(ROOT / ".venv")
    return where


def test_readme_is_short_and_keeps_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    setup = readme.split("## Set up on a fresh machine", 1)[1]
    first = next(b for b in blocks(ROOT / "README.md") if f"\n{b.text}\n" in setup)
    assert [c.split()[:2] for c in commands(first.text)] == [["make", "run"], ["make", "test"]]


def test_every_docs_page_starts_with_its_contents() -> None:
    for page in (ROOT / "docs").glob("*.md"):
        head = page.read_text(encoding="utf-8").split("\n## ", 2)
        assert len(head) > 1 and head[1].startswith("Contents"), page.name


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_yaml_example(block: Block, tmp_path: Path) -> None:
    data = yaml.safe_load(block.text)
    if "fragment" in block.marker:
        return
    if isinstance(data, dict) and "scenario" in data:
        (tmp_path / "scenarios").mkdir()
        (tmp_path / "scenarios" / "example.yaml").write_text(block.text, encoding="utf-8")
        _, problems = load_all([tmp_path / "scenarios"], ROOT / "templates")
        assert problems == [], f"{block}: " + "; ".join(map(str, problems))
    elif isinstance(data, dict) and "content_sid" in data:
        path = tmp_path / "whatsapp.yaml"
        path.write_text(block.text, encoding="utf-8")
        content = load_content(path)
        assert content.problems == [], f"{block}: {content.problems}"
    else:
        pytest.fail(
            f"{block}: neither a scenario nor a WhatsApp template: mark it <!-- fragment -->"
        )


def test_the_example_scenarios_in_docs_are_valid() -> None:
    scenarios, problems = load_all([ROOT / "docs" / "examples"], ROOT / "templates")
    assert scenarios and problems == [], problems


def test_fragments_are_few() -> None:
    fragments = [str(b) for b in ALL if "fragment" in b.marker]
    assert len(fragments) <= MAX_FRAGMENTS, fragments


def parse_omni(argv: list[str], where: Block) -> argparse.Namespace:
    parser = build_parser()
    parser.exit_on_error = False
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for sub in getattr(action, "choices", {}).values():
            sub.exit_on_error = False
    try:
        return parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as exc:
        pytest.fail(f"{where}: omni {' '.join(argv)}: {exc}")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=str)
def test_shell_example(block: Block, fresh: Path) -> None:
    script, run = [], False
    for command in commands(block.text):
        executed = harmless = False
        for words in simple_commands(command):
            program, args = words[0], words[1:]
            if "=" in program or program == "export":
                names = {w.split("=", 1)[0] for w in words if "=" in w}
                assert names <= known_variables(), f"{block}: unknown {names - known_variables()}"
                harmless = True
            elif program in (".venv/bin/omni", "omni"):
                parsed = parse_omni(args, block)
                executed = parsed.command in EXECUTED and "first-message" not in block.marker
            elif program == "make":
                assert set(args) <= make_targets(), f"{block}: make {args}"
            elif program in (".venv/bin/python", "python"):
                assert (ROOT / args[0]).is_file(), f"{block}: no script {args[0]}"
            else:
                assert program in OTHER, f"{block}: what checks `{program}`? {command}"
                harmless = harmless or program in HARMLESS
        if executed or harmless:
            script.append(command)
        run = run or executed
    if run:  # the block as a reader runs it, in order, in a fresh copy of the repo
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
        done = subprocess.run(
            ["bash", "-c", "set -eo pipefail\n" + "\n".join(script)],
            cwd=fresh, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{block}:\n{done.stdout}\n{done.stderr}"
        assert "nothing_sent" not in done.stdout, f"{block}:\n{done.stdout}"


def test_examples_are_counted() -> None:
    executed = parsed = 0
    for block in SHELL_BLOCKS:
        for command in commands(block.text):
            omni = [w for w in simple_commands(command) if w[0] in (".venv/bin/omni", "omni")]
            if any(w[1] in EXECUTED for w in omni) and "first-message" not in block.marker:
                executed += 1
            else:
                parsed += 1
    scenarios = sum("fragment" not in b.marker for b in YAML_BLOCKS)
    fragments = sum("fragment" in b.marker for b in ALL)
    print(f"shell commands executed {executed}, parsed {parsed}; YAML validated {scenarios}; "
          f"fragments {fragments}")  # fmt: skip
    assert executed >= 8 and scenarios >= 2


# -- links and tables ------------------------------------------------------------------------
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation out, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[|\]\([^)]*\)", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def prose(page: Path, *, code: bool = False) -> list[tuple[int, str]]:
    """The page's lines outside code fences; inline code blanked unless ``code``."""
    out, fenced = [], False
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, line if code else re.sub(r"`[^`]*`", "``", line)))
    return out


def raw_headings(page: Path) -> set[str]:
    """Anchors of the headings as written (inline code kept: GitHub keeps its words)."""
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,6} ", line):
            found.add(slug(line.lstrip("#")))
        found.update(re.findall(r'<a id="([^"]+)"', line))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_internal_links_resolve(page: Path) -> None:
    broken = []
    for n, line in prose(page):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: not ours to keep
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{n}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in raw_headings(file):
                broken.append(f"{n}: {target} (no such anchor)")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_tables_render(page: Path) -> None:
    """Every table row has its header's cells (a `|` in a cell is written `\\|`), every row
    belongs to a table with a header, and no cell is an essay."""
    problems = []
    lines = prose(page, code=True)  # a `|` in inline code splits a cell too
    header_cells = 0
    for n, line in lines:
        if not line.startswith("|"):
            header_cells = 0
            continue
        cells = len(re.split(r"(?<!\\)\|", line.strip())) - 2
        if header_cells == 0:
            following = dict(lines).get(n + 1, "")
            if not re.match(r"^\|[\s:|-]+\|$", following.strip()):
                problems.append(f"{n}: a row without a header (renders as raw pipes)")
            header_cells = cells
        elif cells != header_cells:
            problems.append(f"{n}: {cells} cells, the header has {header_cells}")
        longest = max(len(c) for c in re.split(r"(?<!\\)\|", line))
        if longest > LONGEST_CELL:
            problems.append(f"{n}: a cell of {longest} characters: write it as prose")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)

"""YAML loading that remembers where every value came from.

Validation errors must name file:line:column, so the loader keeps the position of each
value (and of each mapping key) keyed by its path from the document root.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from orchestrator.language.errors import Problem

Path = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed YAML document plus the 1-based positions of its values and keys."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of the value at path (or its key), falling back to the nearest parent."""
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: Path, message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(self.file, line, column, message, hint)


class YamlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _content_mark(node: yaml.Node) -> tuple[int, int]:
    """Where a value's text begins: for a block scalar (``|`` or ``>``) the first line after
    the indicator, at its indentation, so positions inside the text count from there."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        buffer, index = node.start_mark.buffer, node.start_mark.pointer
        if buffer is not None:
            start = buffer.find("\n", index) + 1
            while start and buffer.startswith("\n", start):  # blank lines before the text
                start += 1
            if start:
                line = buffer.count("\n", 0, start) + 1
                indent = len(buffer[start:]) - len(buffer[start:].lstrip(" "))
                return line, indent + 1
    return _mark(node)


def load_located(text: str, file: str) -> Located:
    """Parse one YAML document; raise YamlProblem on syntax errors or duplicate keys."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(
            Problem(
                file,
                line,
                col,
                f"YAML syntax error: {exc.problem}",
                "check indentation and quote values that contain ': ' or start with '{'",
            )
        ) from None
    doc = Located(file=file, data=None)
    if root is None:
        doc.data = {}
        return doc
    doc.data = _build(root, (), doc, loader)
    return doc


def _build(node: yaml.Node, path: Path, doc: Located, loader: yaml.SafeLoader) -> Any:
    doc.values[path] = _content_mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path + ("<key>",), doc, loader)
            if not isinstance(key, (str, int, float, bool)):
                line, col = _mark(key_node)
                raise YamlProblem(Problem(doc.file, line, col, "a mapping key must be plain text"))
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                line, col = _mark(key_node)
                raise YamlProblem(
                    Problem(
                        doc.file,
                        line,
                        col,
                        f"key {key!r} appears twice in the same mapping",
                        "remove one of them; YAML would silently keep only the last",
                    )
                )
            doc.keys[path + (key,)] = _mark(key_node)
            result[key] = _build(value_node, path + (key,), doc, loader)
        doc.values.pop(path + ("<key>",), None)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), doc, loader) for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    # Dates become ISO text so scenario data stays JSON (it travels in workflow payloads).
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value

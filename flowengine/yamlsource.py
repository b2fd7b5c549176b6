"""YAML loading that remembers where every value came from.

JSON Schema and graph checks work on plain Python data; this module keeps, for
every path into that data, the line and column it was read from, so an error
can say ``flows/control.yaml:12:7: ...`` instead of "somewhere in the file".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowengine.errors import Problem

JsonPath = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


class SecretRef(str):
    """A ``!secret name`` reference: the string is the name, never the secret.

    Whoever owns the secrets attaches the value (``flowengine.secrets``); only
    ``reveal`` reads it, so printing, logging, tracing or serialising a config
    that holds one shows the name and nothing else.
    """

    _value: str | None = None

    def __repr__(self) -> str:
        return f"SecretRef({str.__str__(self)!r})"


class InputRef(str):
    """``!input name`` in a blueprint: where the using flow's input ``name`` goes."""

    def __repr__(self) -> str:
        return f"InputRef({str.__str__(self)!r})"


@dataclass
class SourceDoc:
    """A parsed YAML document with the position of every value in it."""

    file: str
    data: Any
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: JsonPath) -> tuple[int, int]:
        """The line and column of ``path``, or of its nearest located parent."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def problem(self, path: JsonPath, message: str) -> Problem:
        line, column = self.where(path)
        return Problem(self.file, line, column, message)


def parse_text(text: str, file: str) -> SourceDoc:
    """Parse YAML text; raises ``YamlSyntaxError`` with a located message."""
    doc = SourceDoc(file, None)
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            doc.data = _convert(node, (), doc)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_syntax_problem(file, exc)) from None
    return doc


#: What was left open, by PyYAML's context: the error points where it opened.
_OPENED = {
    "while parsing a flow sequence": "this '[' is never closed",
    "while parsing a flow mapping": "this '{' is never closed",
    "while scanning a quoted scalar": "this quoted text is never closed",
}


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    """Where the YAML went wrong: for a bracket or quote left open, where it opened (the
    place to fix), with where the parser gave up; otherwise where the problem was found."""
    opened = _OPENED.get(exc.context or "")
    if opened and exc.context_mark is not None:
        start = exc.context_mark
        found = exc.problem_mark
        where = f" (the parser gave up at line {found.line + 1}: {exc.problem})" if found else ""
        return Problem(file, start.line + 1, start.column + 1, f"YAML syntax: {opened}{where}")
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    reason = exc.problem or exc.context or "invalid YAML"
    return Problem(file, line, column, f"YAML syntax: {reason}")


def parse_file(path: Path) -> SourceDoc:
    return parse_text(path.read_text(encoding="utf-8"), str(path))


class YamlSyntaxError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _convert(node: yaml.Node, path: JsonPath, doc: SourceDoc) -> Any:
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            key_text = str(key)
            if key_text in result:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise YamlSyntaxError(
                    Problem(doc.file, line, column, f"duplicate key '{key_text}'")
                )
            doc.positions[(*path, f"<key>{key_text}")] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key_text] = _convert(value_node, (*path, key_text), doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), doc) for i, item in enumerate(node.value)]
    return _scalar(node, doc.file)


_CONSTRUCTOR = yaml.SafeLoader("")


def _scalar(node: yaml.Node, file: str = "") -> Any:
    if node.tag == "!secret":
        return SecretRef(node.value)
    if node.tag == "!input":
        return InputRef(node.value)
    if node.tag == "!env":
        return _environment(node, file)
    return _CONSTRUCTOR.construct_object(node, deep=True)


def _environment(node: yaml.Node, file: str) -> Any:
    """``!env NAME`` (or ``!env NAME:-default``): the variable's text, read as a YAML scalar,
    so ``!env EV_POWER`` of 3000 is the number 3000."""
    name, has_default, default = str(node.value).partition(":-")
    text = os.environ.get(name.strip())
    if text is None:
        if not has_default:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            raise YamlSyntaxError(
                Problem(file, line, column, f"environment variable {name.strip()} is not set "
                        "(write !env NAME:-default for a default)")
            )  # fmt: skip
        text = default
    value = yaml.safe_load(text) if text.strip() else text
    return value if isinstance(value, str | int | float | bool) else text

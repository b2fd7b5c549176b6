"""YAML loading that remembers where every value came from, and that hostile text cannot
blow up.

JSON Schema and graph checks work on plain Python data; this module keeps, for
every path into that data, the line and column it was read from, so an error
can say ``flows/control.yaml:12:7: ...`` instead of "somewhere in the file".

It is the one loader of every YAML file we read (flows, blueprints, the site
config, secrets, flow tests, the settings form's text). A file over
``MAX_YAML_BYTES`` and text that is not UTF-8 or holds control characters are
refused with a located ``YamlSyntaxError``. Aliases (``*name``) may repeat a value,
but what they add is bounded by ``MAX_ALIASED_VALUES``: eight levels of ten aliases
are a billion values from a few hundred bytes, and are refused after the first
ten thousand.
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

#: The largest YAML file or text read (the shipped flows are a few KiB each, site.yaml
#: about 5 KiB): a bound on what one file can make the service parse and hold.
MAX_YAML_BYTES = 1024 * 1024
#: The most values that aliases may add to one file (a flow test repeating a reading
#: adds a few dozen).
MAX_ALIASED_VALUES = 10_000


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
    if len(text) > MAX_YAML_BYTES:
        raise YamlSyntaxError(Problem(file, 1, 1, _too_big(len(text.encode("utf-8")))))
    doc = SourceDoc(file, None)
    try:
        node = yaml.compose(text, Loader=_Loader)  # an alias is the same node again: cheap
        if node is not None:
            doc.data = _Converter(doc).convert(node, ())
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(_syntax_problem(file, exc)) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlSyntaxError(
            Problem(file, line, column, f"YAML syntax: {exc.reason} (character U+{code:04X})")
        ) from None
    return doc


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _too_big(size: int) -> str:
    return f"the file is {size:,} bytes, over the {MAX_YAML_BYTES:,}-byte limit of a YAML file"


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
    """Parse a YAML file, never reading more than ``MAX_YAML_BYTES`` of it; raises
    ``YamlSyntaxError`` for what is too big or not text, ``OSError`` if it cannot be read."""
    return parse_text(read_yaml_text(path), str(path))


def read_yaml_text(path: Path) -> str:
    """The text of a YAML file: at most ``MAX_YAML_BYTES``, UTF-8, else a located
    ``YamlSyntaxError`` (a file overwritten with random bytes says where they start)."""
    with path.open("rb") as file:
        data = file.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise YamlSyntaxError(Problem(str(path), 1, 1, _too_big(path.stat().st_size)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data[: exc.start].decode("utf-8")
        line, column = _line_column(text, len(text))
        raise YamlSyntaxError(
            Problem(
                str(path),
                line,
                column,
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot "
                "start a character (is this a YAML file?)",
            )
        ) from None


class YamlSyntaxError(ValueError):
    """YAML that cannot be read, with where (a ``Problem``)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class _Converter:
    """Plain data from a composed node tree, with each value's position; what aliases add
    is counted against ``MAX_ALIASED_VALUES`` (an alias is a node met a second time)."""

    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        self.met: set[int] = set()
        self.aliased = 0  # values built so far as the copy an alias made
        self.in_alias = 0  # how deep inside aliases' copies the walk is
        self.alias_used_at = (1, 1)  # where the outermost alias being copied is written

    def convert(self, node: yaml.Node, path: JsonPath) -> Any:
        again = id(node) in self.met
        self.met.add(id(node))
        if again and not self.in_alias:
            self.alias_used_at = self._place(path)
        self.in_alias += again
        try:
            return self._value(node, path)
        finally:
            self.in_alias -= again

    def _place(self, path: JsonPath) -> tuple[int, int]:
        """Where the value at ``path`` is written: its key's position in a mapping, else
        its parent's (an alias node carries the anchor's position, not its own)."""
        if path and isinstance(path[-1], str):
            key = (*path[:-1], f"<key>{path[-1]}")
            if key in self.doc.positions:
                return self.doc.positions[key]
        return self.doc.where(path[:-1])

    def _value(self, node: yaml.Node, path: JsonPath) -> Any:
        doc = self.doc
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if self.in_alias:
            self.aliased += 1
            if self.aliased > MAX_ALIASED_VALUES:
                raise YamlSyntaxError(
                    Problem(
                        doc.file,
                        *self.alias_used_at,
                        f"the aliases here add more than "
                        f"{MAX_ALIASED_VALUES:,} values to the file: write the values out",
                    )
                )
        doc.positions[path] = (line, column)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = _scalar(key_node)
                key_text = str(key)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key_text in result:
                    raise YamlSyntaxError(Problem(doc.file, *where, f"duplicate key '{key_text}'"))
                doc.positions[(*path, f"<key>{key_text}")] = where
                result[key_text] = self.convert(value_node, (*path, key_text))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
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
                Problem(
                    file,
                    line,
                    column,
                    f"environment variable {name.strip()} is not set "
                    "(write !env NAME:-default for a default)",
                )
            )
        text = default
    value = yaml.safe_load(text) if text.strip() else text
    return value if isinstance(value, str | int | float | bool) else text

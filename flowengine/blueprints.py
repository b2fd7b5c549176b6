"""Blueprints: one flow written once, used by many flow files with their own inputs.

Home Assistant's form. A blueprint is a flow file without ``flow:``, with a
``blueprint:`` header naming its inputs, and ``!input name`` where each goes::

    blueprint:
      name: Tell when a value stays above a limit
      input:
        key: {description: the context key watched, e.g. global.telemetry.soc}
        above: {description: the limit}
        for: {description: how long it must stay above, default: 10m}
    triggers:
      - {type: context, key: !input key, above: !input above, for: !input for}
    nodes: [...]

A flow file uses it with ``use_blueprint`` (the path is relative to the file)::

    flow: battery_full
    use_blueprint:
      path: blueprints/stays_above.yaml
      input: {key: global.telemetry.soc, above: 0.95}

The flow is the blueprint's, filled in, under the using file's id. A problem in
the blueprint is reported at its own line, with the file that used it.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowengine.errors import Problem
from flowengine.yamlsource import InputRef, JsonPath, SourceDoc, YamlSyntaxError, parse_file

#: Keys of a using file besides ``use_blueprint`` (the rest comes from the blueprint).
USING_KEYS = ("flow", "description", "use_blueprint", "mode", "max_runs", "on_error")


@dataclass
class BlueprintDoc(SourceDoc):
    """The filled-in flow: its file is the using file; its places are the blueprint's."""

    blueprint_file: str = ""
    used_at: str = ""
    #: Places the using file gave itself (flow, mode...): reported in the using file.
    own: dict[JsonPath, tuple[int, int]] | None = None

    def problem(self, path: JsonPath, message: str) -> Problem:
        head = str(path[0]).removeprefix("<key>") if path else ""
        if self.own is not None and head in USING_KEYS:
            line, column = self.own.get((head,), (1, 1))
            return Problem(self.file, line, column, message)
        line, column = self.where(path)
        return Problem(self.blueprint_file, line, column, f"{message} (used by {self.used_at})")


def uses_blueprint(doc: SourceDoc) -> bool:
    return isinstance(doc.data, dict) and "use_blueprint" in doc.data


def expand(doc: SourceDoc) -> tuple[SourceDoc | None, list[Problem]]:
    """The flow ``doc`` makes of its blueprint, or the problems that stop it."""
    data = doc.data
    use = data["use_blueprint"]
    problems: list[Problem] = []
    for key in data:
        if key not in USING_KEYS:
            allowed = ", ".join(USING_KEYS)
            problems.append(
                doc.problem((f"<key>{key}",), f"a flow that uses a blueprint takes only {allowed}")
            )
    if "flow" not in data:
        problems.append(doc.problem((), "a flow that uses a blueprint still needs 'flow' (its id)"))
    if not isinstance(use, dict) or not isinstance(use.get("path"), str):
        problems.append(doc.problem(("use_blueprint",), "use_blueprint needs 'path' (and 'input')"))
        return None, problems
    inputs = use.get("input", {})
    if not isinstance(inputs, dict):
        problems.append(doc.problem(("use_blueprint", "input"), "'input' must be a mapping"))
        return None, problems
    path = (Path(doc.file).parent / use["path"]).resolve()
    try:
        blueprint = parse_file(path)
    except FileNotFoundError:
        problems.append(doc.problem(("use_blueprint", "path"), f"no blueprint at {path}"))
        return None, problems
    except YamlSyntaxError as exc:
        return None, [*problems, exc.problem]
    header = blueprint.data.get("blueprint") if isinstance(blueprint.data, dict) else None
    if not isinstance(header, dict):
        problems.append(blueprint.problem((), "a blueprint needs a 'blueprint:' header"))
        return None, problems
    declared = header.get("input") or {}
    if not isinstance(declared, dict):
        problems.append(
            blueprint.problem(
                ("blueprint", "input"),
                "a blueprint's input must be a mapping of input names to {description, default}",
            )
        )
        return None, problems
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        if name in inputs:
            values[name] = inputs[name]
        elif "default" in spec:
            values[name] = spec["default"]
        else:
            what = f" ({spec['description']})" if spec.get("description") else ""
            problems.append(
                doc.problem(("use_blueprint", "input"), f"missing input '{name}'{what}")
            )
    for name in inputs:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; it takes {', '.join(declared)}"
            problems.append(
                doc.problem(
                    ("use_blueprint", "input", f"<key>{name}"), f"unknown input '{name}'" + hint
                )
            )
    unused: list[tuple[JsonPath, str]] = []
    body = {k: v for k, v in blueprint.data.items() if k != "blueprint"}
    filled = _fill(body, values, (), unused)
    for where, name in unused:
        if name not in declared:
            problems.append(blueprint.problem(where, f"!input {name} is not a declared input"))
    if problems:
        return None, problems
    filled["flow"] = data.get("flow")
    filled.setdefault("description", header.get("description", ""))
    for key in ("description", "mode", "max_runs", "on_error"):
        if key in data:
            filled[key] = data[key]
    line, _ = doc.where(("<key>use_blueprint",))
    expanded = BlueprintDoc(
        doc.file,
        filled,
        dict(blueprint.positions),
        blueprint_file=blueprint.file,
        used_at=f"{doc.file}:{line}",
    )
    expanded.own = {(key,): doc.where((key,)) for key in USING_KEYS if key in data}
    return expanded, []


def _fill(value: Any, inputs: dict[str, Any], path: JsonPath, unknown: list[Any]) -> Any:
    if isinstance(value, InputRef):
        name = str(value)
        if name not in inputs:
            unknown.append((path, name))
            return None
        return copy.deepcopy(inputs[name])
    if isinstance(value, dict):
        return {k: _fill(v, inputs, (*path, k), unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, inputs, (*path, i), unknown) for i, v in enumerate(value)]
    return value

"""Turn flow files into a ``FlowSet``, or say exactly what is wrong and where.

Every problem is reported as ``FILE:LINE:COL: message`` in plain words. All
problems in all files are collected before giving up, and nothing is built
from files that do not validate.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
from croniter import croniter

from flowengine.blueprints import expand, uses_blueprint
from flowengine.context import ContextRef
from flowengine.durations import parse_duration
from flowengine.errors import InvalidFlows, Problem
from flowengine.expressions import (
    ExpressionError,
    check_expression,
    check_template,
    context_reads,
    expression_fields,
)
from flowengine.node import ERROR_PORT, KeyUse, Node
from flowengine.registry import Registry
from flowengine.schema import TRIGGER_OPTIONS, structure_schema
from flowengine.spec import ConnectionSpec, FlowSet, FlowSpec, NodeSpec, TriggerSpec
from flowengine.yamlsource import JsonPath, SourceDoc, YamlSyntaxError, parse_file, parse_text

Validator = jsonschema.Draft202012Validator


def load_flow_dir(
    directory: Path,
    registry: Registry,
    exclude: Iterable[str] = (),
    trigger_options: Mapping[str, dict[str, Any]] = TRIGGER_OPTIONS,
    complete: bool = True,
) -> FlowSet:
    """Validate and load every ``*.yaml`` flow file in ``directory``.

    ``complete``: the folder is a whole application (``exclude`` names files that are
    not flows), so every context key a flow file names for reading must have a writer.
    A deliberate subset (a backtest leaves the notify flows out) passes False."""
    skip = set(exclude)
    files = sorted(
        p
        for p in directory.glob("*.yaml")
        if p.name not in skip and not p.name.endswith(".test.yaml")
    )
    return load_flow_files(files, registry, trigger_options, complete)


def load_flow_files(
    files: Iterable[Path],
    registry: Registry,
    trigger_options: Mapping[str, dict[str, Any]] = TRIGGER_OPTIONS,
    complete: bool = False,
) -> FlowSet:
    """Validate and load the given flow files together, all problems reported at once.

    A chosen subset of a flow directory (an editor checking one file, a flow test):
    with ``complete=False`` (the default) a context key that is read here but written
    by no file here is allowed, since a file outside the subset may write it.
    """
    docs: list[SourceDoc] = []
    problems: list[Problem] = []
    for path in files:
        try:
            docs.append(parse_file(path))
        except YamlSyntaxError as exc:
            problems.append(exc.problem)
    return load_docs(docs, registry, trigger_options, problems, complete)


def load_flow_text(text: str, registry: Registry, file: str = "<flow>") -> FlowSet:
    """Validate one flow file given as text (tests, the API, the UI editor)."""
    try:
        doc = parse_text(text, file)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    return load_docs([doc], registry)


def load_docs(
    docs: list[SourceDoc],
    registry: Registry,
    trigger_options: Mapping[str, dict[str, Any]] = TRIGGER_OPTIONS,
    problems: list[Problem] | None = None,
    complete: bool = False,
) -> FlowSet:
    """``complete``: these are all the application's flow files; every context key a flow
    file names for reading must then have a writer (checked once all else is sound)."""
    checker = _Checker(registry, dict(trigger_options), problems or [])
    for doc in docs:
        checker.check_doc(doc)
    checker.check_across_files()
    if complete and not checker.problems:
        checker.check_key_writers()
    if checker.problems:
        raise InvalidFlows(checker.problems)
    return FlowSet(checker.flows, checker.connections, checker.outside)


class _Checker:
    def __init__(
        self,
        registry: Registry,
        trigger_options: dict[str, dict[str, Any]],
        problems: list[Problem],
    ) -> None:
        self.registry = registry
        self.trigger_options = {**trigger_options, **registry.trigger_options()}
        self.problems = problems
        self.structure = Validator(structure_schema(self.trigger_options))
        self.flows: dict[str, FlowSpec] = {}
        self.connections: dict[str, ConnectionSpec] = {}
        self._flow_docs: dict[str, tuple[SourceDoc, JsonPath]] = {}
        self._connection_uses: list[tuple[SourceDoc, JsonPath, str, str]] = []
        self._webhooks: dict[str, str] = {}
        #: Keys named in flow files that must have a writer: (doc, path, flow, scope, key).
        self._named_reads: list[tuple[SourceDoc, JsonPath, str, str, str]] = []
        self._writes: set[tuple[str, str]] = set()
        self._uses: dict[str, tuple[list[str], list[str]]] = {}
        self.outside: dict[str, str] = {}
        self._current_data: Any = None

    def problem(self, doc: SourceDoc, path: JsonPath, message: str) -> None:
        self.problems.append(doc.problem(path, message))

    # -- one file -------------------------------------------------------------

    def check_doc(self, doc: SourceDoc) -> None:
        if uses_blueprint(doc):
            expanded, problems = expand(doc)
            if expanded is None:
                self.problems.extend(problems)
                return
            doc = expanded
        data = doc.data
        if not isinstance(data, dict):
            self.problem(doc, (), "a flow file must be a mapping with 'flow' and 'nodes' keys")
            return
        if "flow" not in data and "connections" not in data and "context" not in data:
            self.problem(doc, (), "not a flow file: it needs a 'flow' key (the flow's id)")
            return
        before = len(self.problems)
        for error in self.structure.iter_errors(data):
            self.problems.append(_schema_problem(doc, (), error))
        if len(self.problems) > before:
            return
        for index, conn in enumerate(data.get("connections", [])):
            self._add_connection(doc, ("connections", index), conn)
        for name, what in data.get("context", {}).items():
            self.outside[ContextRef.parse(name).key] = what  # the schema allows global.<key>
        if "flow" in data:
            self._current_data = data
            self._add_flow(doc, data)
        elif "nodes" in data or "triggers" in data:
            self.problem(doc, (), "this file has nodes but no 'flow' key naming the flow")

    def _add_connection(self, doc: SourceDoc, path: JsonPath, raw: dict[str, Any]) -> None:
        conn_id, type_name = raw["id"], raw["type"]
        kind = self.registry.connections.get(type_name)
        if kind is None:
            self.problem(
                doc,
                (*path, "type"),
                _unknown("connection type", type_name, self.registry.connections),
            )
            return
        config = raw.get("config", {})
        self._check_config(
            doc, (*path, "config"), config, kind.config_schema, f"connection '{conn_id}'"
        )
        if conn_id in self.connections:
            first = self.connections[conn_id].file
            self.problem(
                doc,
                (*path, "id"),
                f"duplicate connection id '{conn_id}' (already declared in {first})",
            )
            return
        self.connections[conn_id] = ConnectionSpec(conn_id, type_name, config, doc.file)

    def _add_flow(self, doc: SourceDoc, data: dict[str, Any]) -> None:
        flow_id = data["flow"]
        nodes: list[NodeSpec] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(data.get("nodes", [])):
            path: JsonPath = ("nodes", index)
            if raw["id"] in seen:
                self.problem(
                    doc,
                    (*path, "id"),
                    f"duplicate node id '{raw['id']}' (first used by node {seen[raw['id']] + 1})",
                )
                continue
            seen[raw["id"]] = index
            node = self._node(doc, path, raw)
            if node is not None:
                nodes.append(node)
        by_id = {n.id: n for n in nodes}
        known_ids = set(seen)
        for index, raw in enumerate(data.get("nodes", [])):
            node = by_id.get(raw["id"])
            if node is not None:
                self._check_wires(doc, ("nodes", index), node, known_ids)
        self._check_cycles(doc, data, by_id)
        triggers = tuple(
            t
            for index, raw in enumerate(data.get("triggers", []))
            if (t := self._trigger(doc, ("triggers", index), raw, known_ids)) is not None
        )
        reads, writes = self._key_uses(doc, data, flow_id, nodes, triggers)
        mode = data.get("mode", "single")
        default_max = 10 if mode in ("queued", "parallel") else 1
        spec = FlowSpec(
            id=flow_id,
            file=doc.file,
            description=data.get("description", ""),
            mode=mode,
            max_runs=data.get("max_runs", default_max),
            on_error=data.get("on_error"),
            triggers=triggers,
            nodes=tuple(nodes),
            source=data,
            reads=reads,
            writes=writes,
        )
        if flow_id in self.flows:
            first = self.flows[flow_id]
            blamed, other = doc, first.file
            if _modified(first.file) > _modified(doc.file):  # blame the newer file: the edit
                blamed, other = self._flow_docs[flow_id][0], doc.file
            message = f"duplicate flow id '{flow_id}' (already used by {other})"
            self.problem(blamed, ("flow",), message)
            return
        self.flows[flow_id] = spec
        self._flow_docs[flow_id] = (doc, ())

    def _key_uses(
        self,
        doc: SourceDoc,
        data: dict[str, Any],
        flow_id: str,
        nodes: list[NodeSpec],
        triggers: tuple[TriggerSpec, ...],
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Which context keys the flow reads and writes; those its file names are checked
        for a writer across all files (``check_across_files``)."""
        index_of = {raw["id"]: i for i, raw in enumerate(data.get("nodes", []))}
        reads: list[str] = []
        writes: list[str] = []

        def scoped(name: str, path: JsonPath) -> tuple[str, str] | None:
            try:
                ref = ContextRef.parse(name)
            except ValueError as exc:
                self.problem(doc, path, str(exc))
                return None
            return ref.scope(flow_id), ref.key

        for node in nodes:
            kind = self.registry.nodes[node.type]
            base: JsonPath = ("nodes", index_of[node.id], "config")
            node_reads, node_writes = kind.key_uses(node.config)
            for where, what, source in expression_fields(node.config, kind.config_schema):
                for name in context_reads(source, template=what == "template"):
                    node_reads.append(KeyUse(name, where))
            for use in node_reads:
                path = base if use.path is None else (*base, *use.path)
                if (found := scoped(use.name, path)) is None:
                    continue
                scope, key = found
                if scope == "global":
                    reads.append(key)
                if use.path is not None:
                    self._named_reads.append((doc, path, flow_id, scope, key))
            for use in node_writes:
                path = base if use.path is None else (*base, *use.path)
                if (found := scoped(use.name, path)) is None:
                    continue
                scope, key = found
                self._writes.add((scope, key))
                if scope == "global":
                    writes.append(key)
        for index, trigger in enumerate(triggers):
            if trigger.type in ("context", "at"):
                path = ("triggers", index, "key")
                if (found := scoped(trigger.options["key"], path)) is None:
                    continue
                scope, key = found
                if scope == "global":
                    reads.append(key)
                self._named_reads.append((doc, path, flow_id, scope, key))
        return tuple(dict.fromkeys(reads)), tuple(dict.fromkeys(writes))

    def _node(self, doc: SourceDoc, path: JsonPath, raw: dict[str, Any]) -> NodeSpec | None:
        kind = self.registry.nodes.get(raw["type"])
        if kind is None:
            message = _unknown("node type", raw["type"], self.registry.nodes)
            new = self.registry.installed_since_start()
            if new:
                message += (
                    f" (node package {', '.join(new)} was installed after the service "
                    "started: restart it to load the package)"
                )
            self.problem(doc, (*path, "type"), message)
            return None
        config = raw.get("config", {})
        before = len(self.problems)
        self._check_config(
            doc, (*path, "config"), config, kind.config_schema, f"node '{raw['id']}'"
        )
        if len(self.problems) == before:
            self._check_meaning(doc, (*path, "config"), config, kind, raw["id"])
        for key, prop in kind.config_schema.get("properties", {}).items():
            if "x-connection" in prop and isinstance(config.get(key), str):
                self._connection_uses.append(
                    (doc, (*path, "config", key), config[key], prop["x-connection"])
                )
        wires = raw.get("wires", [])
        ports = (
            ({"out": tuple(wires)} if wires else {})
            if isinstance(wires, list)
            else {port: tuple(targets) for port, targets in wires.items()}
        )
        own_ports = kind.ports_for(config) if isinstance(config, dict) else kind.output_ports()
        if isinstance(wires, list) and wires and own_ports and "out" not in own_ports:
            ports = {own_ports[0]: tuple(wires)}
        timeout = parse_duration(raw["timeout"]) if "timeout" in raw else None
        return NodeSpec(raw["id"], raw["type"], config, ports, raw.get("name", ""), timeout)

    def _check_config(
        self, doc: SourceDoc, path: JsonPath, config: Any, schema: dict[str, Any], owner: str
    ) -> None:
        for error in Validator(schema).iter_errors(config):
            self.problems.append(_schema_problem(doc, path, error, owner))

    def _check_meaning(
        self, doc: SourceDoc, path: JsonPath, config: Any, kind: type[Node], node_id: str
    ) -> None:
        """Expressions and templates compile, and the node's own checks pass."""
        for where, what, source in expression_fields(config, kind.config_schema):
            try:
                (check_expression if what == "expression" else check_template)(source)
            except ExpressionError as exc:
                self.problem(doc, (*path, *where), f"node '{node_id}': {exc}")
        for where, message in kind.check_config(config):
            self.problem(doc, (*path, *where), f"node '{node_id}': {message}")

    def _check_wires(
        self, doc: SourceDoc, path: JsonPath, node: NodeSpec, known_ids: set[str]
    ) -> None:
        ports = (*self.registry.nodes[node.type].ports_for(node.config), ERROR_PORT)
        raw_wires = _get(self._current_data, (*path, "wires"))
        for port, targets in node.wires.items():
            port_path: JsonPath = (
                (*path, "wires", port) if isinstance(raw_wires, dict) else (*path, "wires")
            )
            if port not in ports:
                key_path = (
                    (*path, "wires", f"<key>{port}") if isinstance(raw_wires, dict) else (port_path)
                )
                self.problem(
                    doc,
                    key_path,
                    f"node '{node.id}' ({node.type}) has no output "
                    f"'{port}'; its outputs are {', '.join(ports)}",
                )
            for index, target in enumerate(targets):
                if target not in known_ids:
                    self.problem(
                        doc,
                        (*port_path, index),
                        _unknown(
                            f"wire from '{node.id}' goes to",
                            target,
                            known_ids,
                            noun="which is not a node in this flow",
                        ),
                    )
                elif target == node.id:
                    self.problem(
                        doc,
                        (*port_path, index),
                        f"node '{node.id}' is wired to itself, which would loop forever",
                    )

    def _check_cycles(
        self, doc: SourceDoc, data: dict[str, Any], by_id: dict[str, NodeSpec]
    ) -> None:
        index_of = {raw["id"]: i for i, raw in enumerate(data.get("nodes", []))}
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node_id: str) -> bool:
            state[node_id] = 1
            stack.append(node_id)
            node = by_id[node_id]
            for targets in node.wires.values():
                for target in targets:
                    if target not in by_id or target == node_id:
                        continue
                    if state.get(target) == 1:
                        loop = [*stack[stack.index(target) :], target]
                        self.problem(
                            doc,
                            ("nodes", index_of[node_id], "wires"),
                            "wires form a cycle: "
                            + " -> ".join(loop)
                            + "; a message would go round forever",
                        )
                        return True
                    if state.get(target) is None and visit(target):
                        return True
            stack.pop()
            state[node_id] = 2
            return False

        for node_id in by_id:
            if state.get(node_id) is None and visit(node_id):
                return

    def _trigger(
        self, doc: SourceDoc, path: JsonPath, raw: dict[str, Any], known_ids: set[str]
    ) -> TriggerSpec | None:
        kind = raw["type"]
        spec = self.trigger_options.get(kind)
        if spec is None:
            self.problem(doc, (*path, "type"), _unknown("trigger type", kind, self.trigger_options))
            return None
        options = {k: v for k, v in raw.items() if k not in ("type", "to", "payload")}
        ok = True
        for key in spec["required"]:
            if key not in options:
                self.problem(doc, path, f"a '{kind}' trigger needs '{key}'")
                ok = False
        for key in options:
            if key not in spec["properties"]:
                allowed = ", ".join(spec["properties"]) or "no options"
                self.problem(
                    doc,
                    (*path, f"<key>{key}"),
                    f"unknown key '{key}' for a '{kind}' trigger; it takes {allowed}",
                )
                ok = False
        if kind == "cron" and "cron" in options and not croniter.is_valid(options["cron"]):
            self.problem(
                doc,
                (*path, "cron"),
                f"'{options['cron']}' is not a valid cron expression "
                "(five fields: minute hour day month weekday)",
            )
            ok = False
        if kind == "interval" and "every" in options and parse_duration(options["every"]) <= 0:
            self.problem(doc, (*path, "every"), "an interval must be longer than zero")
            ok = False
        for index, target in enumerate(raw.get("to", [])):
            if target not in known_ids:
                self.problem(
                    doc,
                    (*path, "to", index),
                    _unknown(
                        "trigger goes to",
                        target,
                        known_ids,
                        noun="which is not a node in this flow",
                    ),
                )
                ok = False
        kind_class = self.registry.triggers.get(kind)
        if ok and kind_class is not None:
            for where, message in kind_class.check_options(options):
                self.problem(doc, (*path, *where), message)
                ok = False
        for key, prop in spec["properties"].items():
            if "x-connection" in prop and isinstance(options.get(key), str):
                self._connection_uses.append(
                    (doc, (*path, key), options[key], prop["x-connection"])
                )
        above, below = options.get("above"), options.get("below")
        if kind == "context" and above is not None and below is not None and above >= below:
            self.problem(
                doc, (*path, "below"), f"below ({below:g}) must be more than above ({above:g})"
            )
            ok = False
        if kind == "context" and "for" in options and above is None and below is None:
            self.problem(doc, (*path, "for"), "'for' needs 'above' or 'below' to know what lasts")
            ok = False
        if not ok:
            return None
        if kind == "webhook" and "webhook_id" in options:
            hook, flow_id = options["webhook_id"], str(_get(self._current_data, ("flow",)))
            if hook in self._webhooks and self._webhooks[hook] != flow_id:
                self.problem(
                    doc,
                    (*path, "webhook_id"),
                    f"webhook id '{hook}' is already used by flow '{self._webhooks[hook]}'",
                )
                return None
            self._webhooks[hook] = flow_id
        for key in ("every", "for"):
            if key in options:
                options[key] = parse_duration(options[key])
        return TriggerSpec(kind, options, tuple(raw.get("to", ())), raw.get("payload"))

    # -- across files ---------------------------------------------------------

    def check_key_writers(self) -> None:
        """Every key a flow file names for reading has a writer: a node, or ``context:``."""
        written_globals = {key for scope, key in self._writes if scope == "global"}
        known = sorted(written_globals | set(self.outside))
        for doc, path, flow_id, scope, key in self._named_reads:
            if (scope, key) in self._writes or (scope == "global" and key in self.outside):
                continue
            if scope == "global":
                close = difflib.get_close_matches(key, known, n=1)
                hint = (
                    f"; did you mean 'global.{close[0]}'?"
                    if close
                    else "; if something outside the flows writes it, declare it under "
                    "'context:' in a flow file"
                )
                message = f"global.{key} is read here, but no flow writes it{hint}"
            else:
                message = f"flow.{key} is read here, but no node of flow '{flow_id}' writes it"
            self.problem(doc, path, message)

    def check_across_files(self) -> None:
        for doc, path, conn_id, wanted in self._connection_uses:
            conn = self.connections.get(conn_id)
            if conn is None:
                self.problem(
                    doc,
                    path,
                    _unknown(
                        "connection",
                        conn_id,
                        self.connections,
                        noun="which is not declared in any flow file",
                    ),
                )
            elif conn.type != wanted:
                self.problem(
                    doc, path, f"connection '{conn_id}' is a {conn.type}, but this needs a {wanted}"
                )
        for flow_id, flow in self.flows.items():
            if flow.on_error is not None and flow.on_error not in self.flows:
                doc, _ = self._flow_docs[flow_id]
                self.problem(
                    doc,
                    ("on_error",),
                    _unknown(
                        "on_error names flow",
                        flow.on_error,
                        self.flows,
                        noun="which does not exist",
                    ),
                )


def schema_problems(doc: SourceDoc, schema: dict[str, Any], owner: str = "") -> list[Problem]:
    """Check a whole document against ``schema``; problems in plain, located words."""
    return [
        _schema_problem(doc, (), error, owner) for error in Validator(schema).iter_errors(doc.data)
    ]


def _modified(file: str) -> float:
    try:
        return Path(file).stat().st_mtime
    except OSError:
        return 0.0


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _unknown(what: str, name: str, known: Iterable[str], noun: str = "") -> str:
    known_list = sorted(known)
    message = f"{what} '{name}'" + (f", {noun}" if noun else " is unknown")
    close = difflib.get_close_matches(name, known_list, n=1)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    if known_list and len(known_list) <= 12:
        return f"{message}; known: {', '.join(known_list)}"
    return message


def _schema_problem(
    doc: SourceDoc, base: JsonPath, error: jsonschema.ValidationError, owner: str = ""
) -> Problem:
    path: JsonPath = (*base, *error.absolute_path)
    where = _describe(path, owner)
    validator = error.validator
    schema: Any = error.schema
    value: Any = error.validator_value
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}) if isinstance(schema, dict) else {})
        extra = (
            [k for k in error.instance if k not in allowed]
            if isinstance(error.instance, dict)
            else []
        )
        key = extra[0] if extra else "?"
        hint = difflib.get_close_matches(key, allowed, n=1)
        tail = (
            f"; did you mean '{hint[0]}'?"
            if hint
            else (f"; allowed: {', '.join(allowed)}" if allowed else "; it takes no keys")
        )
        return doc.problem((*path, f"<key>{key}"), f"unknown key '{key}' in {where}{tail}")
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return doc.problem(path, f"missing key '{missing}' in {where}")
    if validator == "type":
        wanted_text = " or ".join(value) if isinstance(value, list) else str(value)
        return doc.problem(
            path,
            f"{where} must be {_article(wanted_text)}, "
            f"not {_kind(error.instance)} {_shown(error.instance)}"
            + _unquoted(error.instance, value),
        )
    if validator == "enum":
        options = ", ".join(str(v) for v in value)
        return doc.problem(path, f"{where} must be one of {options}, not {error.instance!r}")
    if validator == "const":
        return doc.problem(path, f"{where} must be {error.validator_value!r}")
    if validator == "pattern":
        return doc.problem(
            path,
            f"{where} {error.instance!r} has the wrong form "
            f"(expected to match {error.validator_value})",
        )
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[validator]
        return doc.problem(
            path, f"{where} must be {words} {error.validator_value}, not {error.instance!r}"
        )
    if validator == "anyOf" and any(isinstance(a, dict) and a.get("x-template") for a in value):
        plain = [a for a in value if not (isinstance(a, dict) and a.get("x-template"))]
        wanted = " or ".join(_wanted(a) for a in plain)
        return doc.problem(
            path, f"{where} must be {wanted}, or {{{{ }}}} text giving one; not {error.instance!r}"
        )
    if validator in ("anyOf", "oneOf") and _choices(value):
        choices = _choices(value)
        given = error.instance if isinstance(error.instance, list) else [error.instance]
        wrong = [v for v in given if v not in choices]
        hint = difflib.get_close_matches(str(wrong[0]), [str(c) for c in choices], n=1)
        return doc.problem(
            path,
            f"{where} must be one of {', '.join(str(c) for c in choices)}, or a list of them; "
            f"not {_shown(wrong[0] if wrong else error.instance)}"
            + (f"; did you mean '{hint[0]}'?" if hint else ""),
        )
    if validator == "anyOf" and path and path[-1] in ("every", "timeout"):
        return doc.problem(
            path,
            f"{where} must be a duration such as 30s, 5m, 1h or a "
            f"number of seconds, not {error.instance!r}",
        )
    return doc.problem(path, f"{where}: {error.message}")


def _wanted(schema: dict[str, Any]) -> str:
    """What a value of ``schema`` is, in words: 'one of a, b', 'a number', 'a duration'."""
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema and "seconds" in str(schema.get("description", "")):
        return "a duration such as 30s, 5m, 1h or a number of seconds"
    if schema.get("format") == "date-time":
        return "an ISO 8601 time"
    kind = schema.get("type")
    return _article(kind) if isinstance(kind, str) else "a value"


def _describe(path: JsonPath, owner: str) -> str:
    parts = [str(p) for p in path if not (isinstance(p, str) and p.startswith("<key>"))]
    if owner:
        inner = parts
        if "config" in inner:
            inner = inner[inner.index("config") + 1 :]
            return f"the config of {owner}" if not inner else f"'{'.'.join(inner)}' of {owner}"
    if not parts:
        return "the file"
    return "'" + ".".join(parts) + "'"


def _article(word: str) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "empty",
    }
    return names.get(word, word)


def _choices(alternatives: Any) -> list[Any]:
    """The words an ``anyOf`` of "one of these, or a list of them" allows; [] otherwise."""
    if not isinstance(alternatives, list):
        return []
    found: list[Any] = []
    for alternative in alternatives:
        if not isinstance(alternative, dict):
            return []
        items = alternative.get("items")
        enum = (items if isinstance(items, dict) else alternative).get("enum")
        if not isinstance(enum, list):
            return []
        found += [value for value in enum if value not in found]
    return found


def _shown(value: Any) -> str:
    """A value as the file said it (a date as 2026-12-09, not Python's repr)."""
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def _unquoted(value: Any, wanted: Any) -> str:
    """Why YAML read text as something else, where that is the likely cause: an unquoted
    16:00 is the number 960 (base 60), an unquoted 2026-12-09 a date."""
    if wanted != "string":
        return ""
    if isinstance(value, date):
        quoted = f'"{value.isoformat()}"'
        return f" (YAML reads an unquoted date as a date: write it in quotes, {quoted})"
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value <= 1440:
        time = f"{value // 60}:{value % 60:02d}"
        return f' (if that was {time} unquoted, YAML read it as {value}: quote it, "{time}")'
    return ""


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "the number",
        float: "the number",
    }.get(type(value), "the value")

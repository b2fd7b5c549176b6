"""The flow-test file format: its JSON Schema, and what a test file means once checked.

A test file (``control.test.yaml`` beside ``control.yaml``) holds a ``tests:``
list. Every problem with it is reported as ``FILE:LINE:COL: message``, as with
flow files, and a file with problems runs no test. The format is described in
docs/flow-tests.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flowengine.context import ContextRef
from flowengine.durations import parse_duration
from flowengine.errors import InvalidFlows, Problem
from flowengine.flowtest.conditions import operator_problems, time_problems
from flowengine.node import ERROR_PORT
from flowengine.registry import Registry
from flowengine.schema import DURATION, ID_PATTERN
from flowengine.spec import FlowSet
from flowengine.validate import schema_problems
from flowengine.yamlsource import JsonPath, SourceDoc, YamlSyntaxError, parse_file

SUFFIX = ".test.yaml"
#: Where a test starts when it gives no ``at``.
DEFAULT_START = "2025-01-01T00:00:00+00:00"
#: A run's outcome as a test states it; ``running``: not over when the test ends.
OUTCOMES = ("ok", "error", "running", "any")

_ID = ID_PATTERN.strip("^$")
#: A node of the test's flow (``command``) or of another flow (``errors.log``).
NODE_REF = rf"^{_ID}(\.{_ID})?$"
CONTEXT_REF = r"^(global|flow)\.[^.]+(\..+)?$"

_BEHAVIOUR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "output": {"description": "the payload it gives out of its first port"},
        "ports": {
            "type": "object",
            "description": "payloads it gives, by port (a port not named gives nothing)",
        },
        "error": {"type": "string", "description": "it fails with this text"},
    },
    "additionalProperties": False,
}
_STUB: dict[str, Any] = {
    **_BEHAVIOUR,
    "description": "the node is not run: it gives canned payloads (or fails), one call each",
    "properties": {
        **_BEHAVIOUR["properties"],
        "calls": {
            "type": "array",
            "minItems": 1,
            "items": _BEHAVIOUR,
            "description": "one behaviour per message it gets; the last repeats",
        },
    },
}
_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "payload": {"description": "the run's payload (default: the trigger's own)"},
        "trigger": {
            "type": "string",
            "description": "fire this trigger of the flow: its type (interval, cron, start, "
            "context...) or its label ('context global.plan')",
        },
        "to": {
            "type": "array",
            "items": {"type": "string", "pattern": ID_PATTERN},
            "description": "start at these nodes instead of the entry nodes",
        },
        "set": {
            "type": "object",
            "propertyNames": {"pattern": r"^(global|flow)\.[^.]+$"},
            "description": "context keys to set first ('global.telemetry': {...}); the "
            "flows' context triggers see the change. Alone, it starts no run itself",
        },
        "after": {
            **DURATION,
            "description": "virtual time to pass before this input (timers and "
            "'for' triggers run on the way)",
        },
    },
    "additionalProperties": False,
}
_RUNS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0, "description": "runs started"},
        "payload": {"description": "a condition on the last run's payload"},
        "outcome": {"enum": list(OUTCOMES), "description": "of every run (default ok)"},
        "error": {"type": "string", "description": "text a run's error contains"},
    },
    "additionalProperties": False,
}
_NODE_EXPECT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 0, "description": "messages it got"},
        "got": {"description": "a condition on the last payload it got"},
        "gave": {"description": "a condition on the last payload it gave (on 'port')"},
        "port": {"type": "string", "description": "the port 'gave' is about (default: first)"},
        "error": {"type": "string", "description": "text its last failure contains"},
    },
    "additionalProperties": False,
}
_TEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "flow": {
            "type": "string",
            "pattern": ID_PATTERN,
            "description": "the flow under test (default: the one beside this file)",
        },
        "flows": {
            "type": "array",
            "items": {"type": "string", "pattern": ID_PATTERN},
            "description": "other flows to run for real (the rest only count runs)",
        },
        "at": {"type": "string", "description": "virtual start time, ISO 8601"},
        "settings": {"type": "object", "description": "a patch over the site config"},
        "context": {
            "type": "object",
            "properties": {"global": {"type": "object"}, "flow": {"type": "object"}},
            "additionalProperties": False,
        },
        "stubs": {
            "type": "object",
            "propertyNames": {"pattern": NODE_REF},
            "additionalProperties": _STUB,
        },
        "input": {"anyOf": [_INPUT, {"type": "array", "items": _INPUT}]},
        "advance": DURATION,
        "expect": {
            "type": "object",
            "properties": {
                "outcome": _RUNS["properties"]["outcome"],
                "error": _RUNS["properties"]["error"],
                "nodes": {
                    "type": "object",
                    "propertyNames": {"pattern": NODE_REF},
                    "additionalProperties": _NODE_EXPECT,
                },
                "runs": {
                    "type": "object",
                    "propertyNames": {"pattern": ID_PATTERN},
                    "additionalProperties": _RUNS,
                },
                "context": {"type": "object", "propertyNames": {"pattern": CONTEXT_REF}},
            },
            "additionalProperties": False,
        },
    },
    "required": ["name"],
    "additionalProperties": False,
}
TEST_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Flow tests",
    "type": "object",
    "properties": {"tests": {"type": "array", "minItems": 1, "items": _TEST}},
    "required": ["tests"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Stub:
    """A node that is not run: one behaviour per message it gets, the last repeating."""

    flow: str
    node: str
    calls: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Input:
    payload: Any = None
    has_payload: bool = False
    trigger: str | None = None
    to: tuple[str, ...] | None = None
    sets: tuple[tuple[str, Any], ...] = ()
    after: float = 0.0

    @property
    def starts_run(self) -> bool:
        """An input only setting context or letting time pass starts no run itself."""
        quiet = bool(self.sets) or self.after > 0
        return self.trigger is not None or self.to is not None or self.has_payload or not quiet


@dataclass(frozen=True)
class FlowTest:
    """One test of a test file, checked against the flows it runs."""

    name: str
    doc: SourceDoc
    path: JsonPath
    flow: str
    flows: tuple[str, ...]
    at: str
    settings: Mapping[str, Any]
    context: Mapping[str, Mapping[str, Any]]
    stubs: Mapping[tuple[str, str], Stub]
    inputs: tuple[Input, ...]
    advance: float
    expect: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return Path(self.doc.file).name

    def where(self, *path: str | int) -> str:
        """``FILE:LINE`` of a part of this test (its nearest located parent)."""
        line, _ = self.doc.where((*self.path, *path))
        return f"{self.doc.file}:{line}"

    @property
    def real_flows(self) -> tuple[str, ...]:
        return (self.flow, *(f for f in self.flows if f != self.flow))


def find_test_files(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.test.yaml`` named, or found under a named directory, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(f"*{SUFFIX}"))
        else:
            found.append(path)
    return found


def parse_test_file(path: Path) -> SourceDoc:
    """The file parsed and checked against the format; ``InvalidFlows`` if it is not one."""
    try:
        doc = parse_file(path)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    except OSError as exc:
        raise InvalidFlows([Problem(str(path), 1, 1, f"cannot read: {exc.strerror}")]) from None
    problems = schema_problems(doc, TEST_FILE_SCHEMA)
    if problems:
        raise InvalidFlows(problems)
    return doc


def load_tests(doc: SourceDoc, flowset: FlowSet, registry: Registry) -> list[FlowTest]:
    """The tests of a parsed file, each checked against the flows beside it (nodes,
    ports, triggers and flows it names must exist); ``InvalidFlows`` otherwise."""
    checker = _Checker(doc, flowset, registry)
    tests = [checker.test(("tests", i), raw) for i, raw in enumerate(doc.data["tests"])]
    if checker.problems:
        raise InvalidFlows(checker.problems)
    return [t for t in tests if t is not None]


class _Checker:
    def __init__(self, doc: SourceDoc, flowset: FlowSet, registry: Registry) -> None:
        self.doc = doc
        self.flowset = flowset
        self.registry = registry
        self.problems: list[Problem] = []
        beside = Path(doc.file).name.removesuffix(SUFFIX) + ".yaml"
        self.default_flow = next(
            (f.id for f in flowset.flows.values() if Path(f.file).name == beside), None
        )

    def problem(self, path: JsonPath, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def test(self, path: JsonPath, raw: dict[str, Any]) -> FlowTest | None:
        before = len(self.problems)
        flow = raw.get("flow", self.default_flow)
        if flow is None:
            self.problem(path, "no flow file beside this test file: name the flow with 'flow:'")
            return None
        if flow not in self.flowset.flows:
            self.problem((*path, "flow"), self._unknown_flow(flow))
            return None
        for index, other in enumerate(raw.get("flows", [])):
            if other not in self.flowset.flows:
                self.problem((*path, "flows", index), self._unknown_flow(other))
        at = raw.get("at", DEFAULT_START)
        try:
            datetime.fromisoformat(at)
        except ValueError:
            self.problem((*path, "at"), f"'at' must be an ISO 8601 time, not {at!r}")
        real = (flow, *raw.get("flows", ()))
        stubs = {}
        for ref, stub_raw in raw.get("stubs", {}).items():
            stub = self._stub((*path, "stubs", ref), flow, ref, stub_raw, real)
            if stub is not None:
                stubs[(stub.flow, stub.node)] = stub
        raw_inputs = raw.get("input", [])
        listed = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
        inputs = tuple(
            self._input(
                (*path, "input", i) if isinstance(raw_inputs, list) else (*path, "input"),
                flow,
                item,
            )
            for i, item in enumerate(listed)
        )
        self._expect((*path, "expect"), flow, raw.get("expect", {}), real)
        for where, value in (
            ("context", raw.get("context")),
            ("stubs", raw.get("stubs")),
            ("input", raw.get("input")),
        ):
            for message in time_problems(value):
                self.problem((*path, where), message)
        if len(self.problems) > before:
            return None
        return FlowTest(
            name=raw["name"],
            doc=self.doc,
            path=path,
            flow=flow,
            flows=tuple(raw.get("flows", ())),
            at=at,
            settings=raw.get("settings", {}),
            context=raw.get("context", {}),
            stubs=stubs,
            inputs=inputs,
            advance=parse_duration(raw.get("advance", 0)),
            expect=raw.get("expect", {}),
        )

    def _node(
        self, path: JsonPath, flow: str, ref: str, real: Iterable[str]
    ) -> tuple[str, str] | None:
        """``flow.node`` or ``node`` (of the test's flow), in a flow the test runs."""
        flow_id, _, node_id = ref.rpartition(".")
        flow_id = flow_id or flow
        spec = self.flowset.flows.get(flow_id)
        if spec is None:
            self.problem(path, self._unknown_flow(flow_id))
            return None
        if flow_id not in real:
            self.problem(path, f"flow '{flow_id}' is not run by this test: name it in 'flows:'")
            return None
        if node_id not in {n.id for n in spec.nodes}:
            known = ", ".join(n.id for n in spec.nodes)
            self.problem(path, f"flow '{flow_id}' has no node '{node_id}'; its nodes: {known}")
            return None
        return flow_id, node_id

    def _stub(
        self, path: JsonPath, flow: str, ref: str, raw: dict[str, Any], real: Iterable[str]
    ) -> Stub | None:
        found = self._node((*path[:-1], f"<key>{ref}"), flow, ref, real)
        if found is None:
            return None
        flow_id, node_id = found
        if "calls" in raw and len(raw) > 1:
            self.problem(path, f"stub '{ref}': 'calls' lists every behaviour; nothing beside it")
            return None
        calls = tuple(raw["calls"]) if "calls" in raw else (raw,)
        ports = self._ports(flow_id, node_id)
        outputs = ports[:-1]
        for index, call in enumerate(calls):
            where = (*path, "calls", index) if "calls" in raw else path
            if len(call) > 1:
                self.problem(
                    where,
                    f"stub '{ref}' gives one of output, ports or error, not {' and '.join(call)}",
                )
            for port in call.get("ports", {}):
                if port not in ports:
                    self.problem(
                        (*where, "ports", f"<key>{port}"),
                        f"node '{ref}' has no port '{port}'; its ports: {', '.join(ports)}",
                    )
            if "output" in call and not outputs:
                self.problem((*where, "output"), f"node '{ref}' has no output port")
        return Stub(flow_id, node_id, calls)

    def _ports(self, flow_id: str, node_id: str) -> tuple[str, ...]:
        """The node's output ports, then ``error`` (the flows validated: its type exists)."""
        spec = self.flowset.flows[flow_id].node(node_id)
        return (*self.registry.nodes[spec.type].ports_for(spec.config), ERROR_PORT)

    def _input(self, path: JsonPath, flow: str, raw: dict[str, Any]) -> Input:
        spec = self.flowset.flows[flow]
        nodes = {n.id for n in spec.nodes}
        for index, target in enumerate(raw.get("to", [])):
            if target not in nodes:
                self.problem(
                    (*path, "to", index),
                    f"flow '{flow}' has no node '{target}'; its nodes: "
                    f"{', '.join(n.id for n in spec.nodes)}",
                )
        trigger = raw.get("trigger")
        if trigger is not None and not any(trigger_matches(trigger, t) for t in spec.triggers):
            labels = ", ".join(trigger_label(t) for t in spec.triggers) or "none"
            self.problem(
                (*path, "trigger"),
                f"flow '{flow}' has no trigger '{trigger}'; its triggers: {labels}",
            )
        if trigger is not None and "to" in raw:
            self.problem((*path, "to"), "give either 'trigger' or 'to', not both")
        return Input(
            payload=raw.get("payload"),
            has_payload="payload" in raw,
            trigger=trigger,
            to=tuple(raw["to"]) if "to" in raw else None,
            sets=tuple(raw.get("set", {}).items()),
            after=parse_duration(raw.get("after", 0)),
        )

    def _expect(self, path: JsonPath, flow: str, raw: dict[str, Any], real: Iterable[str]) -> None:
        for ref, wanted in raw.get("nodes", {}).items():
            found = self._node((*path, "nodes", f"<key>{ref}"), flow, ref, real)
            if found is not None and "port" in wanted:
                ports = self._ports(*found)
                if wanted["port"] not in ports:
                    self.problem(
                        (*path, "nodes", ref, "port"),
                        f"node '{ref}' has no port '{wanted['port']}'; its ports: "
                        f"{', '.join(ports)}",
                    )
            for key in ("got", "gave"):
                for message in operator_problems(wanted.get(key)):
                    self.problem((*path, "nodes", ref, key), message)
        for flow_id, wanted in raw.get("runs", {}).items():
            if flow_id not in self.flowset.flows:
                self.problem((*path, "runs", f"<key>{flow_id}"), self._unknown_flow(flow_id))
            for message in operator_problems(wanted.get("payload")):
                self.problem((*path, "runs", flow_id, "payload"), message)
        for key, wanted in raw.get("context", {}).items():
            try:
                ContextRef.parse(key)
            except ValueError as exc:  # global.a..b: the schema lets it by
                self.problem((*path, "context", f"<key>{key}"), str(exc))
            for message in operator_problems(wanted):
                self.problem((*path, "context", key), message)

    def _unknown_flow(self, flow: str) -> str:
        return f"no flow '{flow}' here; flows: {', '.join(sorted(self.flowset.flows))}"


def trigger_label(trigger: Any) -> str:
    """How a test names a trigger: its type and its key, schedule or period."""
    options = trigger.options
    detail = (
        options.get("key")
        or options.get("cron")
        or (f"{options['every']:g}s" if "every" in options else "")
    )
    return f"{trigger.type} {detail}".strip()


def trigger_matches(name: str, trigger: Any) -> bool:
    return name in (trigger.type, trigger_label(trigger))

"""Runs flow tests: each on an engine of its own, on virtual time, with no network.

A test's engine loads every flow of the test file's directory. The flows under
test (``flow`` and ``flows``) run for real, with their stubbed nodes replaced;
every other flow is reduced to a node that counts the runs started on it. No
connection that reaches outside is opened (``Harness.local_connections`` are:
a SQLite file in the test's own temporary directory, say), and every TCP
connection is refused while the tests run.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema

from flowengine.clock import VirtualClock
from flowengine.context import GLOBAL, ContextRef, flow_scope
from flowengine.dotted import MISSING, dig
from flowengine.engine import Engine
from flowengine.errors import InvalidFlows
from flowengine.flowtest.conditions import mismatches, missing, with_times
from flowengine.flowtest.doubles import (
    CountRuns,
    ManualStart,
    StubNode,
    no_network,
    offline,
    stub_config,
    stubbing,
)
from flowengine.flowtest.spec import (
    FlowTest,
    find_test_files,
    load_tests,
    parse_test_file,
    trigger_label,
    trigger_matches,
)
from flowengine.local import with_local_types
from flowengine.message import Message
from flowengine.node import FLOW_LOG
from flowengine.observe import FlowObserver
from flowengine.registry import Registry
from flowengine.runtime import FlowRuntime
from flowengine.spec import FlowSet, NodeSpec
from flowengine.traces import RunTrace
from flowengine.validate import load_flow_dir

SettingsFor = Callable[[Path, Mapping[str, Any]], dict[str, Any]]


def _patch_only(flows_dir: Path, patch: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(patch))


def _utc(settings: Mapping[str, Any]) -> str:
    return "UTC"


@dataclass(frozen=True)
class Harness:
    """What the application around the engine gives its flow tests."""

    registry: Registry
    #: The settings a test runs with: (flows directory, the test's patch). Its data
    #: directory, a temporary one, is the engine's (``Engine(data_dir=...)``).
    settings: SettingsFor = _patch_only
    #: The engine's time zone for those settings (cron triggers, a naive ``at``).
    timezone: Callable[[Mapping[str, Any]], str] = _utc
    #: Connection types opened for real (they reach nothing outside the data directory).
    local_connections: frozenset[str] = frozenset()
    #: Files of a flows directory that are not flow files.
    exclude: tuple[str, ...] = ()


@dataclass
class NodeCall:
    got: Any
    gave: dict[str, list[Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunRecord:
    payload: Any
    source: str
    run_id: str | None  # None: the run mode dropped it
    trace: RunTrace | None = None  # once it is over

    @property
    def outcome(self) -> str:
        if self.run_id is None:
            return "dropped"
        return "running" if self.trace is None else self.trace.outcome

    @property
    def error(self) -> str | None:
        return None if self.trace is None else self.trace.error


@dataclass
class Result:
    test: FlowTest
    failures: list[str]
    seconds: float
    traces: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class Recorder(FlowObserver):
    """Every message each node got and gave, and every run asked for, in one test: an
    observer of the engine (``Engine.observe``), so the flows run exactly as in service."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], list[NodeCall]] = {}
        self.runs: dict[str, list[RunRecord]] = {}
        self._by_run: dict[str, RunRecord] = {}
        #: The step each run is in (a run's steps come one at a time).
        self._current: dict[str, NodeCall] = {}

    def run_triggered(
        self, flow_id: str, run_id: str | None, payload: Any, source: str, at: float
    ) -> None:
        record = RunRecord(copy.deepcopy(payload), source, run_id)
        self.runs.setdefault(flow_id, []).append(record)
        if run_id is not None:
            self._by_run[run_id] = record

    def run_ended(self, trace: RunTrace) -> None:
        record = self._by_run.pop(trace.run_id, None)
        if record is not None:
            record.trace = trace

    def step_started(
        self, flow_id: str, run_id: str, node_id: str, msg: Message, at: float
    ) -> None:
        call = NodeCall(copy.deepcopy(msg.payload))
        self.calls.setdefault((flow_id, node_id), []).append(call)
        self._current[run_id] = call

    def step_ended(
        self,
        flow_id: str,
        run_id: str,
        node_id: str,
        gave: Mapping[str, list[Message]],
        at: float,
    ) -> None:
        call = self._current.pop(run_id, None)  # None: the step began before we watched
        if call is not None:
            call.gave = {port: [copy.deepcopy(m.payload) for m in ms] for port, ms in gave.items()}

    def step_failed(self, flow_id: str, run_id: str, node_id: str, error: str, at: float) -> None:
        call = self._current.pop(run_id, None)
        if call is not None:
            call.error = error


def _check_shapes(test: FlowTest, recorder: Recorder, engine: Engine) -> list[str]:
    """Every payload a node gave on a port whose shape its type declares (``gives_schema``)
    has that shape: a real node that drifted, or a stub that gives what the real node
    never would, fails the test here rather than passing on a wrong picture."""
    failures: list[str] = []
    for (flow_id, node_id), calls in recorder.calls.items():
        runtime = engine.flows[flow_id].nodes[node_id]
        shapes = (
            type(runtime.node).gives_schema or engine.registry.nodes[runtime.spec.type].gives_schema
        )
        if not shapes:
            continue
        stub = isinstance(runtime.node, StubNode)
        for call in calls:
            for port, payloads in call.gave.items():
                if port not in shapes:
                    continue
                for payload in payloads:
                    error = jsonschema.exceptions.best_match(
                        jsonschema.Draft202012Validator(shapes[port]).iter_errors(payload)
                    )
                    if error is None:
                        continue
                    if error.context:  # anyOf: say what the alternative of its kind missed
                        near = [e for e in error.context if e.validator != "type"]
                        error = jsonschema.exceptions.best_match(near or error.context) or error
                    at = ".".join(str(p) for p in error.absolute_path) or "the payload"
                    who = "its stub here gives" if stub else "it gave"
                    failures.append(
                        f"{test.where('stubs', node_id) if stub else test.where()}: node "
                        f"'{node_id}' ({runtime.spec.type}): {who} what "
                        f"{runtime.spec.type} never gives on '{port}': {at}: {error.message}"
                    )
                    break
    return failures


async def run_test(test: FlowTest, flowset: FlowSet, harness: Harness) -> Result:
    """Run one test on an engine of its own; its failures, each located in the file."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flowtest-") as tmp, _captured_logs() as logs:
        try:
            failures, traces = await _run(test, flowset, harness, Path(tmp))
        except Exception as exc:  # the test could not run at all: that is its failure
            failures, traces = [f"{test.where()}: could not run: {_error_text(exc)}"], []
    return Result(test, failures, time.perf_counter() - began, [*traces, *logs])


async def _run(
    test: FlowTest, flowset: FlowSet, harness: Harness, data_dir: Path
) -> tuple[list[str], list[str]]:
    flows_dir = Path(test.doc.file).parent
    settings = harness.settings(flows_dir, test.settings)
    timezone = harness.timezone(settings)
    start = datetime.fromisoformat(test.at)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(timezone))
    clock = VirtualClock(start)
    engine = Engine(
        _registry(test, flowset, harness),
        clock,
        ":memory:",
        settings,
        timezone=timezone,
        trigger_types={"start": ManualStart},
        freeze_gc=False,
        data_dir=data_dir,
    )
    try:
        for scope_word, values in test.context.items():
            scope = GLOBAL if scope_word == "global" else flow_scope(test.flow)
            for key, value in values.items():
                engine.context.set(scope, key, with_times(value, clock.time()))
        await engine.start(_flowset(test, flowset))
        recorder = Recorder()
        engine.observe(recorder)
        for item in test.inputs:
            flow = engine.flows[test.flow]
            if item.after:
                await clock.advance(item.after)
            for name, value in item.sets:  # the schema allows no field: global.<key>
                ref = ContextRef.parse(name)
                engine.context.set(ref.scope(test.flow), ref.key, with_times(value, clock.time()))
            if not item.starts_run:
                await clock.run_until(clock.time())
                continue
            if item.trigger is None:
                flow.trigger(with_times(item.payload, clock.time()), "test input", item.to)
            else:
                _fire(
                    engine,
                    flow,
                    item.trigger,
                    item.payload if item.has_payload else None,
                    clock.time(),
                )
            await clock.run_until(clock.time())
        await clock.advance(test.advance)
        failures = _check(test, recorder, engine, clock.time())
        traces = _traces(test, recorder) if failures else []
    finally:
        await engine.stop()
        engine.close()
    return failures, traces


def _fire(engine: Engine, flow: FlowRuntime, name: str, payload: Any, now: float) -> None:
    spec = next(t for t in flow.spec.triggers if trigger_matches(name, t))
    if payload is None and spec.type == "context":
        ref = ContextRef.parse(spec.options["key"])
        value = engine.context.get(ref.scope(flow.id), ref.key)
        fields = [*ref.path, *spec.options.get("field", "").split(".")]
        found = dig(value, [p for p in fields if p])
        value = None if found is MISSING else found
        payload = {"key": spec.options["key"], "value": value, "old": None}
    flow.trigger(
        spec.payload if payload is None else with_times(payload, now),
        trigger_label(spec),
        spec.to or None,
    )


def _registry(test: FlowTest, flowset: FlowSet, harness: Harness) -> Registry:
    """The application's types, stubbed nodes' stand-ins, and offline connections."""
    source = harness.registry
    registry = Registry()
    registry.nodes = dict(source.nodes)
    registry.triggers = dict(source.triggers)
    registry.connections = {
        name: kind if name in harness.local_connections else offline(kind)
        for name, kind in source.connections.items()
    }
    registry.nodes[CountRuns.type_name] = CountRuns
    stubbed: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for (flow_id, node_id), stub in test.stubs.items():
        type_name = flowset.flows[flow_id].node(node_id).type
        stubbed.setdefault(type_name, {})[(flow_id, node_id)] = stub_config(stub.calls)
    for type_name, configs in stubbed.items():
        registry.nodes[type_name] = stubbing(source.nodes[type_name], configs)
    return registry


def _flowset(test: FlowTest, flowset: FlowSet) -> FlowSet:
    flows = {}
    for flow_id, spec in flowset.flows.items():
        if flow_id in test.real_flows:
            flows[flow_id] = spec
        else:
            # Runs are counted: those started by hand, by on_error and by context keys
            # the flows under test set; its timers stay off.
            counter = NodeSpec("runs", CountRuns.type_name, {}, {})
            flows[flow_id] = replace(
                spec,
                mode="parallel",
                max_runs=1_000_000,
                on_error=None,
                triggers=tuple(replace(t, to=()) for t in spec.triggers if t.type == "context"),
                nodes=(counter,),
            )
    return FlowSet(flows, flowset.connections)


# -- what was expected ---------------------------------------------------------


def _check(test: FlowTest, recorder: Recorder, engine: Engine, now: float) -> list[str]:
    expect = test.expect
    failures: list[str] = _check_shapes(test, recorder, engine)
    runs_expected: Mapping[str, Any] = expect.get("runs", {})
    own = {key: expect[key] for key in ("outcome", "error") if key in expect}
    for flow_id in sorted({*test.real_flows, *runs_expected}):
        wanted = {**(own if flow_id == test.flow else {}), **runs_expected.get(flow_id, {})}
        where = (
            test.where("expect", "runs", flow_id)
            if flow_id in runs_expected
            else (test.where("expect") if flow_id == test.flow and own else test.where())
        )
        real = flow_id in test.real_flows
        failures += _check_runs(flow_id, wanted, recorder.runs.get(flow_id, []), where, real, now)
    for ref, wanted in expect.get("nodes", {}).items():
        flow_id, _, node_id = ref.rpartition(".")
        flow_id = flow_id or test.flow
        where = test.where("expect", "nodes", ref)
        calls = recorder.calls.get((flow_id, node_id), [])
        ports = engine.flows[flow_id].nodes[node_id].ports
        failures += [f"{where}: node '{ref}' {m}" for m in _check_node(wanted, calls, ports, now)]
    for ref, wanted in expect.get("context", {}).items():
        place = ContextRef.parse(ref)
        value = engine.context.get(place.scope(test.flow), place.key, _ABSENT)
        value = dig(value, place.path) if place.path and value is not _ABSENT else value
        where = test.where("expect", "context", ref)
        condition = with_times(wanted, now)
        if value is _ABSENT or missing(value):
            if condition != {"$exists": False}:
                failures.append(f"{where}: context {ref}: not set (expected {condition!r})")
            continue
        failures += [f"{where}: context {m}" for m in mismatches(condition, value, ref)]
    return failures


_ABSENT = object()


def _check_runs(
    flow_id: str,
    wanted: Mapping[str, Any],
    records: list[RunRecord],
    where: str,
    real: bool,
    now: float,
) -> list[str]:
    failures = []
    name = f"flow '{flow_id}'"
    if "count" in wanted and len(records) != wanted["count"]:
        sources = "; ".join(r.source for r in records) or "none"
        failures.append(
            f"{where}: {name}: expected {wanted['count']} run(s), got {len(records)} ({sources})"
        )
    if "payload" in wanted:
        if not records:
            failures.append(
                f"{where}: {name}: no run started (expected one with payload {wanted['payload']!r})"
            )
        else:
            failures += [
                f"{where}: {name} run payload {m}"
                for m in mismatches(with_times(wanted["payload"], now), records[-1].payload)
            ]
    outcome = wanted.get("outcome", "error" if "error" in wanted else "ok" if real else "any")
    if outcome != "any":
        for index, record in enumerate(records, 1):
            if record.outcome not in (outcome, "dropped"):
                why = f": {record.error}" if record.error else ""
                failures.append(
                    f"{where}: {name} run {index} ({record.source}): expected "
                    f"outcome {outcome}, got {record.outcome}{why}"
                )
    if "error" in wanted:
        errors = [r.error for r in records if r.error]
        if not any(wanted["error"] in e for e in errors):
            got = "; ".join(errors) if errors else "no run failed"
            failures.append(
                f"{where}: {name}: expected an error containing {wanted['error']!r}, got {got}"
            )
    return failures


def _check_node(
    wanted: Mapping[str, Any], calls: list[NodeCall], ports: tuple[str, ...], now: float
) -> list[str]:
    failures = []
    if "count" in wanted and len(calls) != wanted["count"]:
        failures.append(f"expected {wanted['count']} message(s), got {len(calls)}")
    if "got" in wanted:
        condition = with_times(wanted["got"], now)
        if not calls:
            failures.append(f"got no message (expected {condition!r})")
        else:
            failures += [f"got {_field(m)}" for m in mismatches(condition, calls[-1].got)]
    if "gave" in wanted:
        condition = with_times(wanted["gave"], now)
        port = wanted.get("port") or (ports[0] if ports else "out")
        given = [payload for call in calls for payload in call.gave.get(port, [])]
        if not given:
            failures.append(f"gave nothing on port '{port}' (expected {condition!r})")
        else:
            failures += [f"gave {_field(m)}" for m in mismatches(condition, given[-1])]
    if "error" in wanted:
        errors = [call.error for call in calls if call.error]
        if not errors:
            failures.append(f"did not fail (expected an error containing {wanted['error']!r})")
        elif wanted["error"] not in errors[-1]:
            failures.append(
                f"failed with {errors[-1]!r}, expected an error containing {wanted['error']!r}"
            )
    return failures


def _field(mismatch: str) -> str:
    """A mismatch of the whole payload says so: ``payload: expected 6, got 5``."""
    return f"payload: {mismatch}" if mismatch.startswith("expected") else mismatch


def _traces(test: FlowTest, recorder: Recorder) -> list[str]:
    lines = []
    for flow_id, records in recorder.runs.items():
        for index, record in enumerate(records, 1):
            lines.append(
                f"run {index} of {flow_id} ({record.source}): {record.outcome}"
                + (f": {record.error}" if record.error else "")
            )
            if flow_id not in test.real_flows or record.outcome in ("dropped", "running"):
                continue
            assert record.trace is not None
            for step in record.trace.steps:
                shown = step.error if step.error else _brief(step.output)
                lines.append(f"    {step.node}: {step.status}  {shown}")
    return lines


def _brief(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@contextmanager
def _captured_logs() -> Iterator[list[str]]:
    """The engine's and the nodes' log lines of one test, kept for its report."""
    lines: list[str] = []
    handler = _ListHandler(lines)
    loggers = [logging.getLogger(name) for name in ("flowengine", "flow", FLOW_LOG)]
    before = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield lines
    finally:
        for logger, propagate in zip(loggers, before, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(
            f"log {record.levelname.lower()} {record.name}: {record.getMessage().splitlines()[0]}"
        )


# -- a session: files in, one line per test out ----------------------------------


@dataclass
class Summary:
    passed: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def __str__(self) -> str:
        return f"{self.passed} passed, {self.failed} failed in {self.seconds:.1f} s"


async def run_tests(
    paths: list[Path],
    harness: Harness,
    say: Callable[[str], None],
    keyword: str | None = None,
    traces: bool = False,
) -> Summary:
    """Every test in ``paths`` (files, or directories searched for ``*.test.yaml``),
    one line each to ``say``, failures with their reasons (and, with ``traces``,
    the runs and log lines); then the summary line."""
    summary = Summary()
    began = time.perf_counter()
    flowsets: dict[Path, tuple[FlowSet, Harness] | InvalidFlows] = {}
    given = harness
    with no_network():
        for file in find_test_files(paths):
            try:
                doc = parse_test_file(file)
                directory = file.parent.resolve()
                if directory not in flowsets:
                    flowsets[directory] = _load_flows(directory, given)
                loaded = flowsets[directory]
                if isinstance(loaded, InvalidFlows):
                    raise loaded
                flowset, harness = loaded  # with the folder's own node types (nodes/*.py)
                tests = load_tests(doc, flowset, harness.registry)
            except InvalidFlows as exc:
                summary.failed += 1
                say(f"FAIL {file.name}: the file does not load")
                for problem in exc.problems:
                    say(f"    {problem}")
                continue
            for test in tests:
                if keyword and keyword.lower() not in f"{file.name} {test.name}".lower():
                    continue
                result = await run_test(test, flowset, harness)
                _report(result, say, traces)
                if result.passed:
                    summary.passed += 1
                else:
                    summary.failed += 1
    summary.seconds = time.perf_counter() - began
    if summary.passed + summary.failed == 0:
        say(
            f"no tests found in {', '.join(map(str, paths))}"
            + (f" matching {keyword!r}" if keyword else "")
        )
    say(str(summary))
    return summary


def _load_flows(directory: Path, harness: Harness) -> tuple[FlowSet, Harness] | InvalidFlows:
    try:
        registry = with_local_types(harness.registry, directory)
        flowset = load_flow_dir(directory, registry, exclude=harness.exclude)
    except InvalidFlows as exc:
        return exc
    return flowset, dataclasses.replace(harness, registry=registry)


def _report(result: Result, say: Callable[[str], None], traces: bool) -> None:
    test = result.test
    word = "PASS" if result.passed else "FAIL"
    say(f"{word} {test.file}: {test.name} ({result.seconds * 1000:.0f} ms)")
    for failure in result.failures:
        say(f"    {failure}")
    if traces and not result.passed:
        for line in result.traces:
            say(f"    | {line}")

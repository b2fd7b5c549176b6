"""Flow tests (flowengine.flowtest): passing, every kind of failure with its located
message, bad test files refused with FILE:LINE:COL, stubs, virtual time, no network."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flowengine import Connection, Message, Node
from flowengine.flowtest import Harness, Summary, run_tests
from flowengine.flowtest.conditions import mismatches, with_times
from tests.flowengine.helpers import registry

FLOW = """\
flow: demo
on_error: errors
triggers:
  - {type: interval, every: 5m}
nodes:
  - {id: source, type: core.set, config: {payload: 5}, wires: [split]}
  - {id: split, type: test.split, wires: {low: [low], high: [high]}}
  - {id: low, type: core.context_set, config: {key: global.low}}
  - {id: high, type: core.context_set, config: {key: global.high}}
"""
ERRORS = "flow: errors\nnodes:\n  - {id: log, type: core.log}\n"


class Dial(Node):
    type_name = "test.dial"
    description = "Opens a TCP connection to config 'port' on this machine."
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    async def process(self, msg: Message) -> Message:
        await asyncio.open_connection("127.0.0.1", self.config["port"])
        return msg


class Remote(Connection):
    type_name = "test.remote"
    description = "Records whether it was opened."
    opened: ClassVar[list[str]] = []

    async def open(self) -> None:
        Remote.opened.append(self.connection_id)


class Local(Remote):
    type_name = "test.local"
    description = "Records whether it was opened (a local one)."


def harness() -> Harness:
    reg = registry()
    reg.add_all([Dial, Remote, Local])
    return Harness(reg, local_connections=frozenset({"test.local"}))


def write(tmp_path: Path, tests: str, flow: str = FLOW) -> Path:
    (tmp_path / "demo.yaml").write_text(flow)
    (tmp_path / "errors.yaml").write_text(ERRORS)
    path = tmp_path / "demo.test.yaml"
    path.write_text(tests)
    return path


async def run(path: Path, keyword: str | None = None) -> tuple[Summary, list[str]]:
    lines: list[str] = []
    summary = await run_tests([path], harness(), lines.append, keyword, traces=True)
    return summary, lines


async def test_a_passing_test_says_pass_and_sums_up(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
tests:
  - name: a small number goes low
    input: {payload: 3}
    expect:
      nodes:
        split: {count: 1, got: 5, gave: 5, port: low}
        high: {count: 0}
      context:
        global.low: 5
        global.high: {$exists: false}
""",
    )
    summary, lines = await run(tmp_path)
    assert summary.ok and (summary.passed, summary.failed) == (1, 0)
    assert lines[0].startswith("PASS demo.test.yaml: a small number goes low (")
    assert lines[-1].startswith("1 passed, 0 failed in ")
    assert path.exists()


async def test_a_stub_replaces_its_node_and_keeps_the_wiring(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
tests:
  - name: stubbed
    stubs:
      source: {output: {n: 50}}
      split: {calls: [{ports: {high: 50}}, {error: broken}]}
    input: [{payload: null}, {payload: null}]
    expect:
      outcome: any                     # the first run is ok, the second fails
      error: "split: StubError: broken"
      nodes:
        source: {count: 2, gave: {n: 50}}
        high: {got: 50}
        low: {count: 0}
      runs:
        errors: {count: 1, payload: {node: split, type: test.split, error: "StubError: broken"}}
""",
    )
    summary, lines = await run(tmp_path)
    assert summary.ok, lines


async def test_every_kind_of_failure_names_the_test_node_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
tests:
  - name: everything wrong
    input: {payload: 1}
    expect:
      nodes:
        split: {count: 2, got: {a: 1}}
        low: {gave: 6}
        high: {got: 50}
        source: {error: boom}
      context:
        global.low: {$between: [6, 9]}
        global.nothing: 1
      runs:
        errors: {count: 1}
  - name: a failing run
    stubs:
      source: {error: boom}
    input: {payload: 1}
    expect:
      nodes:
        source: {error: bang}
""",
    )
    summary, lines = await run(tmp_path)
    assert (summary.passed, summary.failed) == (0, 2)
    f = str(path)
    assert lines[1:12] == [
        f"    {f}:14: flow 'errors': expected 1 run(s), got 0 (none)",
        f"    {f}:6: node 'split' expected 2 message(s), got 1",
        f"    {f}:6: node 'split' got payload: expected a mapping, got 5",
        f"    {f}:7: node 'low' gave payload: expected 6, got 5",
        f"    {f}:8: node 'high' got no message (expected 50)",
        f"    {f}:9: node 'source' did not fail (expected an error containing 'boom')",
        f"    {f}:11: context global.low: expected between 6 and 9, got 5",
        f"    {f}:12: context global.nothing: not set (expected 1)",
        "    | run 1 of demo (test input): ok",
        "    |     source: ok  {'out': 5}",
        "    |     split: ok  {'low': 5}",
    ]
    failing = next(i for i, line in enumerate(lines) if line.startswith("FAIL demo.test.yaml: a f"))
    assert lines[failing + 1 : failing + 3] == [
        f"    {f}:15: flow 'demo' run 1 (test input): expected outcome ok, got error: "
        "source: StubError: boom",
        f"    {f}:21: node 'source' failed with 'StubError: boom', expected an error "
        "containing 'bang'",
    ]


async def test_a_bad_test_file_is_refused_with_file_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
tests:
  - name: bad
    stubs:
      sauce: {output: 1}
      split: {ports: {middle: 1}}
    input: {trigger: cron}
    expect:
      nodes:
        errors.log: {count: 1}
      outcom: ok
""",
    )
    summary, lines = await run(tmp_path)
    assert (summary.passed, summary.failed) == (0, 1)
    assert lines[:2] == [
        "FAIL demo.test.yaml: the file does not load",
        f"    {path}:10:7: unknown key 'outcom' in 'tests.0.expect'; did you mean 'outcome'?",
    ]
    path.write_text(path.read_text().replace("      outcom: ok\n", ""))
    summary, lines = await run(tmp_path)
    assert lines[1:] == [
        f"    {path}:4:7: flow 'demo' has no node 'sauce'; its nodes: source, split, low, high",
        f"    {path}:5:23: node 'split' has no port 'middle'; its ports: low, high, error",
        f"    {path}:6:22: flow 'demo' has no trigger 'cron'; its triggers: interval 300s",
        f"    {path}:9:9: flow 'errors' is not run by this test: name it in 'flows:'",
        "0 passed, 1 failed in " + lines[-1].split(" in ")[1],
    ]


async def test_virtual_time_fires_interval_triggers_and_start_waits_for_input(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        """\
tests:
  - name: fifteen minutes
    at: "2025-01-15T10:01:00+00:00"
    advance: 15m
    expect:
      runs:
        demo: {count: 3}
      nodes:
        split: {count: 3}
""",
        FLOW.replace("triggers:\n", "triggers:\n  - {type: start}\n"),
    )
    summary, lines = await run(tmp_path)
    assert summary.ok, lines


async def test_no_network_and_only_local_connections_open(tmp_path: Path, free_port: int) -> None:
    flow = f"""\
connections:
  - {{id: far, type: test.remote}}
  - {{id: near, type: test.local}}
flow: demo
nodes:
  - {{id: dial, type: test.dial, config: {{port: {free_port}}}}}
"""
    write(
        tmp_path,
        """\
tests:
  - name: dials out
    input: {payload: null}
    expect:
      error: flow tests reach no network
""",
        flow,
    )
    Remote.opened = []
    summary, lines = await run(tmp_path)
    assert summary.ok, lines
    assert Remote.opened == ["near"]


async def test_k_selects_tests_by_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
tests:
  - {name: one, input: {payload: 1}}
  - {name: two, input: {payload: 2}}
""",
    )
    summary, lines = await run(tmp_path, keyword="TWO")
    assert summary.passed == 1 and lines[0].startswith("PASS demo.test.yaml: two")
    summary, lines = await run(tmp_path, keyword="three")
    assert not summary.ok and lines[0] == f"no tests found in {tmp_path} matching 'three'"


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        ({"a.b.1": 2}, {"a": {"b": [1, 2]}}, []),
        ({"a": 0.1 + 0.2}, {"a": 0.3, "b": 1}, []),
        ({"a": True}, {"a": 1}, ["a: expected true, got 1"]),
        (
            {"r": {"$contains": "spike"}},
            {"r": "no"},
            ["r: expected something containing 'spike', got 'no'"],
        ),
        ({"l": {"$len": 2}}, {"l": [1]}, ["l: length: expected 2, got 1"]),
        ({"m": {"$not": None}}, {"m": None}, ["m: expected anything but null, got null"]),
        ({"x": 1}, {"y": 2}, ["x: missing (expected 1); it has y"]),
    ],
)
def test_conditions(expected: Any, actual: Any, found: list[str]) -> None:
    assert mismatches(expected, actual) == found


def test_relative_times() -> None:
    assert with_times({"t": "$now-20m", "i": ["$iso+1h"], "s": "$nowhere"}, 3600.0) == {
        "t": 2400.0,
        "i": ["1970-01-01T02:00:00+00:00"],
        "s": "$nowhere",
    }

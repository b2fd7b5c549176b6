"""Every kind of broken flow file fails with its FILE:LINE:COL message."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine import InvalidFlows, load_flow_files, load_flow_text
from tests.flowengine.helpers import registry

GOOD = """\
flow: demo
triggers:
  - type: interval
    every: 5m
nodes:
  - id: a
    type: core.passthrough
    wires: [b]
  - id: b
    type: core.log
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidFlows) as info:
        load_flow_text(text, registry(), "f.yaml")
    return [str(p) for p in info.value.problems]


def test_a_good_flow_loads() -> None:
    flowset = load_flow_text(GOOD, registry(), "f.yaml")
    flow = flowset.flows["demo"]
    assert flow.entry_nodes == ("a",)
    assert flow.triggers[0].options["every"] == 300.0


def test_yaml_syntax_error_is_located() -> None:
    assert problems("flow: demo\nnodes:\n  - id: a\n   type: x\n") == [
        "f.yaml:4:4: YAML syntax: did not find expected '-' indicator"
    ]


def test_unknown_node_type_suggests_the_close_one() -> None:
    text = GOOD.replace("type: core.log", "type: core.logg")
    assert problems(text) == [
        "f.yaml:10:11: node type 'core.logg' is unknown; did you mean 'core.log'?"
    ]


def test_unknown_config_key() -> None:
    text = GOOD.replace(
        "    type: core.log\n", "    type: core.log\n    config:\n      levle: info\n"
    )
    assert problems(text) == [
        "f.yaml:12:7: unknown key 'levle' in the config of node 'b'; did you mean 'level'?"
    ]


def test_missing_config_key() -> None:
    text = GOOD.replace("type: core.log", "type: core.delay")
    assert problems(text) == ["f.yaml:9:5: missing key 'for' in the config of node 'b'"]


def test_bad_config_value() -> None:
    text = GOOD.replace("    type: core.log\n", "    type: core.log\n    config: {level: loud}\n")
    assert problems(text) == [
        "f.yaml:11:21: 'level' of node 'b' must be one of debug, info, warning, error, not 'loud'"
    ]


def test_wire_to_a_missing_node() -> None:
    text = GOOD.replace("wires: [b]", "wires: [c]")
    assert problems(text) == [
        "f.yaml:8:13: wire from 'a' goes to 'c', which is not a node in this flow; known: a, b"
    ]


def test_wire_from_a_missing_port() -> None:
    text = GOOD.replace("wires: [b]", "wires: {spike: [b]}")
    assert problems(text) == [
        "f.yaml:8:13: node 'a' (core.passthrough) has no output 'spike'; its outputs are out, error"
    ]


def test_duplicate_node_id() -> None:
    text = GOOD.replace("  - id: b\n", "  - id: a\n")
    assert "f.yaml:9:9: duplicate node id 'a' (first used by node 1)" in problems(text)


def test_cycle() -> None:
    text = GOOD.replace("type: core.log", "type: core.passthrough") + "    wires: [a]\n"
    assert problems(text) == [
        "f.yaml:11:12: wires form a cycle: a -> b -> a; a message would go round forever"
    ]


def test_unknown_top_level_key_and_bad_mode() -> None:
    text = "mdoe: single\n" + GOOD
    assert problems(text) == ["f.yaml:1:1: unknown key 'mdoe' in the file; did you mean 'mode'?"]
    assert problems(GOOD + "mode: sometimes\n") == [
        "f.yaml:11:7: 'mode' must be one of single, queued, restart, parallel, not 'sometimes'"
    ]


def test_bad_trigger() -> None:
    text = GOOD.replace("every: 5m", "every: soon")
    assert problems(text) == [
        "f.yaml:4:12: 'triggers.0.every' must be a duration such as 30s, 5m, 1h or a number of "
        "seconds, not 'soon'"
    ]
    cron = GOOD.replace("type: interval\n    every: 5m", "type: cron\n    cron: every day")
    assert problems(cron) == [
        "f.yaml:4:11: 'every day' is not a valid cron expression "
        "(five fields: minute hour day month weekday)"
    ]


def test_a_bad_context_key_is_refused_where_it_is_named() -> None:
    """The schema lets ``global.a..b`` by; the one parser of key names does not."""
    text = GOOD.replace("type: interval\n    every: 5m", "type: context\n    key: global.a..b")
    assert problems(text) == [
        "f.yaml:4:10: 'global.a..b' is not a context key: write global.<key> or flow.<key>, "
        "and any field inside it after a dot (global.override.until)"
    ]


def test_duplicate_flow_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(GOOD)
    (tmp_path / "two.yaml").write_text(GOOD)
    with pytest.raises(InvalidFlows) as info:
        load_flow_files(sorted(tmp_path.glob("*.yaml")), registry())
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path}/two.yaml:1:7: duplicate flow id 'demo' (already used by {tmp_path}/one.yaml)"
    ]


def test_connection_references_are_checked() -> None:
    text = """\
flow: web
connections:
  - id: web
    type: core.http
nodes:
  - id: a
    type: core.passthrough
"""
    assert load_flow_text(text, registry()).connections["web"].type == "core.http"

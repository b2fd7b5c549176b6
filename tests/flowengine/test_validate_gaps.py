"""Validation gaps closed: MQTT topics and trigger connections at load, an open bracket
shown where it opened, a duplicate flow id blamed on the newer file; each message pinned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowengine import InvalidFlows, default_registry, load_flow_files, load_flow_text

MQTT = """connections: [{id: mqtt, type: mqtt.broker}, {id: web, type: core.http}]
flow: f
triggers:
  - {type: mqtt, connection: web, topic: home/ev}
  - {type: mqtt, connection: mqtt, topic: home/#/x}
  - {type: mqtt, connection: mqtt, topic: sensors/power+}
nodes:
  - {id: p, type: mqtt.publish, config: {connection: mqtt, topic: home/+/charge}}
"""


def test_mqtt_topics_and_trigger_connections_are_checked_at_load() -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_flow_text(MQTT, default_registry(), "f.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml:4:30: connection 'web' is a core.http, but this needs a mqtt.broker",
        "f.yaml:5:43: '#' must be a whole level and the last one: 'home/#/x'",
        "f.yaml:6:43: '+' must be a whole level: 'sensors/power+' (write a/+/b, not a/b+)",
        "f.yaml:8:67: node 'p': a topic to publish to cannot hold the wildcards + or #: "
        "'home/+/charge'",
    ]


def test_an_open_bracket_is_shown_where_it_opened() -> None:
    text = "flow: f\nnodes:\n  - {id: a, type: core.set, config: {payload: [1, 2}\n  - {id: b}\n"
    with pytest.raises(InvalidFlows) as caught:
        load_flow_text(text, default_registry(), "f.yaml")
    assert str(caught.value) == (
        "f.yaml:3:47: YAML syntax: this '[' is never closed (the parser gave up at line 3: "
        "did not find expected ',' or ']')"
    )


def test_a_duplicate_flow_id_is_blamed_on_the_newer_file(tmp_path: Path) -> None:
    old, new = tmp_path / "b_old.yaml", tmp_path / "a_new.yaml"
    old.write_text("flow: same\nnodes: []\n")
    new.write_text("# copied, then edited\nflow: same\nnodes: []\n")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_800_000_000, 1_800_000_000))
    with pytest.raises(InvalidFlows) as caught:
        load_flow_files([new, old], default_registry())  # the newer one is read first
    assert str(caught.value) == f"{new}:2:7: duplicate flow id 'same' (already used by {old})"

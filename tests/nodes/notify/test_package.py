"""What nodes.notify gives the rest of Power Master: node types, the site section, the wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

import nodes.notify
from flowengine import load_flow_files
from flowengine.node import Node
from flowengine.secrets import SecretRef
from nodes.notify import NODE_TYPES, SETTINGS_DEFAULTS, SETTINGS_SCHEMA
from tests.support.registry import registry

#: The flows the report suggests (flows/notify.yaml, and the spike branch of prices.yaml).
NOTIFY_FLOW = """
flow: notify
mode: queued
max_runs: 3
on_error: errors
triggers:
  - type: start
  - type: interval
    every: 5m
  - {type: context, key: global.health}
  - {type: context, key: global.storm_reserve}
  - {type: context, key: global.inverter_link}
nodes:
  - id: compose
    type: notify.compose
    config: {events: [storm_reserve, inverter_offline, health_degraded, daily_summary]}
    wires: [ntfy, pushover, telegram, webhook, email]
  - {id: ntfy, type: notify.ntfy, config: {http: web}}
  - {id: pushover, type: notify.pushover, config: {http: web}}
  - {id: telegram, type: notify.telegram, config: {http: web}}
  - {id: webhook, type: notify.webhook, config: {http: web}}
  - {id: email, type: notify.email}
"""
ERRORS_FLOW = """
flow: errors
nodes:
  - {id: log, type: core.log, config: {level: warning}}
"""
CONNECTIONS = """
connections:
  - {id: web, type: core.http}
"""


def test_exports() -> None:
    assert [n.type_name for n in NODE_TYPES] == [
        "notify.compose",
        "notify.ntfy",
        "notify.pushover",
        "notify.telegram",
        "notify.webhook",
        "notify.email",
        "section notify",
    ]
    assert set(nodes.notify.__all__) >= {"NODE_TYPES", "SETTINGS_SCHEMA", "SETTINGS_DEFAULTS"}
    for node in [n for n in NODE_TYPES if isinstance(n, type)]:
        assert issubclass(node, Node)
        jsonschema.Draft202012Validator.check_schema(node.config_schema)
        assert node.description and node.takes and node.gives


def test_the_suggested_flow_validates(tmp_path: Path) -> None:
    files = []
    for name, text in (("notify", NOTIFY_FLOW), ("errors", ERRORS_FLOW), ("web", CONNECTIONS)):
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(text)
    flowset = load_flow_files(files, registry(*NODE_TYPES))
    assert set(flowset.flows) == {"notify", "errors"} and set(flowset.connections) == {"web"}


SECTION: dict[str, Any] = {
    "cooldown": "30m",
    "cooldowns": {"price_spike": "1h", "health_degraded:safety": 0},
    "ntfy": {
        "topic": SecretRef("ntfy_topic"),
        "token": SecretRef("ntfy_token"),
        "priorities": {"info": 2},
    },
    "pushover": {"token": SecretRef("po_token"), "user": SecretRef("po_user")},
    "telegram": {"token": SecretRef("tg_token"), "chat_id": 515151515, "parse_mode": "HTML"},
    "webhook": {"url": SecretRef("hook_url"), "headers": {"X-Key": SecretRef("hook_key")}},
    "email": {
        "host": "smtp.example.com",
        "security": "starttls",
        "username": "me",
        "password": SecretRef("smtp"),
        "from": "pm@example.com",
        "to": ["me@example.com"],
    },
}


def test_the_site_section_takes_the_defaults_and_a_real_one() -> None:
    schema = SETTINGS_SCHEMA["notify"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(SETTINGS_DEFAULTS["notify"])) == []
    assert list(validator.iter_errors(SECTION)) == []
    for name in ("ntfy", "pushover", "telegram", "webhook", "email"):
        properties = schema["properties"][name]["properties"]
        assert all("description" in p for p in properties.values()), name


@pytest.mark.parametrize(
    "mistake",
    [
        {"cooldown": "soon"},
        {"ntfy": {"token": "x"}},  # no topic
        {"ntfy": {"topic": "t", "priorities": {"info": 6}}},
        {"pushover": {"token": "t", "user": "u", "priorities": {"critical": 2}}},  # emergency
        {"telegram": {"token": "t", "chat_id": 1, "parse_mode": "Markdown"}},
        {"webhook": {"headers": {"X-Key": "k"}}},  # no url
        {"email": {"host": "h", "from": "a@b", "to": []}},
        {"email": {"host": "h", "from": "a@b", "to": ["c@d"], "security": "ssl"}},
        {"slack": {}},
    ],
)
def test_the_site_section_refuses_mistakes(mistake: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(SETTINGS_SCHEMA["notify"])
    assert list(validator.iter_errors(mistake)) != []

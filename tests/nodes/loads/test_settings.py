"""The loads section: defaults, and every problem named at its place."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine.validate import schema_problems
from flowengine.yamlsource import SecretRef, parse_text
from nodes.loads import SETTINGS_CHECKS, SETTINGS_DEFAULTS, SETTINGS_SCHEMA
from nodes.loads.settings import InvalidLoads, check_loads, load_configs
from nodes.loads.window import Window

MQTT = {"adapter": "mqtt", "command_topic": "c", "state_topic": "s"}
SITE_YAML = """\
loads:
  pool:
    name: Pool pump
    adapter: shelly_gen2
    host: 192.168.1.40
    password: !secret pool_shelly
    power_w: 1100
    run_time: 4h
    window: {from: "09:00", to: "17:00"}
    prefer_solar: true
  hot_water:
    adapter: shelly_gen1
    host: 192.168.1.41
    channel: 1
    username: admin
    password: hunter2
    power_w: 3600
    run_time: 3h
    window: {from: "22:00", to: "07:00"}
    priority: essential
    safety_off: 45m
  dryer:
    adapter: mqtt
    command_topic: home/dryer/set
    state_topic: home/dryer/state
    power_topic: home/dryer/power
    power_w: 2400
    priority: opportunistic
"""


def test_a_full_section_reads_with_its_defaults() -> None:
    doc = parse_text(SITE_YAML, "site.yaml")
    assert check_loads(doc.data["loads"]) == []
    configs = load_configs(doc.data)

    pool, water, dryer = configs["pool"], configs["hot_water"], configs["dryer"]
    assert (pool.name, pool.port, pool.channel, pool.min_run_s, pool.safety_off_s) == (
        "Pool pump",
        80,
        0,
        600,
        1800,
    )
    assert isinstance(pool.password, SecretRef) and "pool_shelly" in repr(pool.password)
    assert (pool.run_time_s, pool.window, pool.solar, pool.sheddable) == (
        14400,
        Window(540, 1020),
        True,
        True,
    )
    assert (water.priority, water.sheddable, water.safety_off_s, water.window) == (
        "essential",
        False,
        2700,
        Window(1320, 420),
    )
    assert (dryer.name, dryer.planned, dryer.solar, dryer.run_time_s) == (
        "dryer",
        False,
        True,
        None,
    )
    assert (dryer.payload_on, dryer.payload_off) == ("ON", "OFF")
    assert water.where == "Shelly Gen1 at 192.168.1.41:80 relay 1"
    assert dryer.where == "MQTT home/dryer/set"


def test_it_is_offered_like_the_provider_packages() -> None:
    assert set(SETTINGS_SCHEMA) == set(SETTINGS_DEFAULTS) == set(SETTINGS_CHECKS) == {"loads"}
    assert SETTINGS_DEFAULTS["loads"] == {}
    site_schema = {"type": "object", "properties": SETTINGS_SCHEMA}
    doc = parse_text(SITE_YAML.replace("power_w: 1100", "power_w: -5"), "site.yaml")
    (problem,) = schema_problems(doc, site_schema)
    assert (problem.file, problem.line) == ("site.yaml", 7)
    assert "loads.pool.power_w" in problem.message


def problems(**load: Any) -> list[str]:
    return [str(p) for p in check_loads({"pool": {"power_w": 1000, **load}})]


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        ({"adapter": "shelly_gen1", "run_time": "2h"}, "loads.pool: 'host' is a required property"),
        (
            {"adapter": "mqtt", "state_topic": "s", "run_time": "2h"},
            "loads.pool: 'command_topic' is a required property",
        ),
        (
            {"adapter": "mqtt", "command_topic": "c", "state_topic": "s"},
            "loads.pool: 'run_time' is a required property",
        ),
        (
            {"adapter": "zigbee", "run_time": "2h"},
            "loads.pool.adapter: 'zigbee' is not one of ['shelly_gen1', 'shelly_gen2', 'mqtt']",
        ),
        (
            {
                "adapter": "shelly_gen1",
                "host": "h",
                "run_time": "2h",
                "window": {"from": "25:00", "to": "06:00"},
            },
            "loads.pool.window.from: '25:00' is not a time HH:MM from 00:00 to 24:00",
        ),
        (
            {"adapter": "shelly_gen1", "host": "h", "run_time": "2h", "state_topic": "s"},
            "loads.pool.state_topic: applies only to mqtt loads, and this load's adapter is "
            "shelly_gen1",
        ),
        (
            {
                **MQTT,
                "run_time": "2h",
                "host": "h",
            },
            "loads.pool.host: applies only to Shelly loads, and this load's adapter is mqtt",
        ),
        (
            {"adapter": "shelly_gen2", "host": "h", "run_time": "2h", "username": "root"},
            "loads.pool.username: Shelly Gen2+ devices always use the user 'admin'",
        ),
        (
            {"adapter": "shelly_gen1", "host": "h", "run_time": "2h", "password": "x"},
            "loads.pool.password: a Gen1 device with auth on needs both username and password",
        ),
        (
            {
                "adapter": "shelly_gen1",
                "host": "h",
                "run_time": "2h",
                "priority": "essential",
                "shed_on_spike": True,
            },
            "loads.pool.shed_on_spike: essential loads are never shed; use priority normal to shed",
        ),
        (
            {"adapter": "shelly_gen1", "host": "h", "run_time": "2h", "safety_off": "30s"},
            "loads.pool.safety_off: must be at least 60 s (it is 30 s)",
        ),
        (
            {
                "adapter": "shelly_gen1",
                "host": "h",
                "run_time": "7h",
                "window": {"from": "10:00", "to": "16:00"},
            },
            "loads.pool.run_time: 7h does not fit in its window 10:00-16:00 (6 h)",
        ),
        (
            {"adapter": "shelly_gen1", "host": "h", "run_time": "0s"},
            "loads.pool.run_time: must be more than 0",
        ),
    ],
)
def test_each_problem_is_named_at_its_place(load: dict[str, Any], expected: str) -> None:
    assert problems(**load) == [expected]


def test_a_load_id_must_be_usable_as_a_name() -> None:
    found = check_loads(
        {
            "1st pump": {
                **MQTT,
                "power_w": 1,
                "run_time": "1h",
            }
        }
    )
    assert [str(p) for p in found] == [
        "loads: load id '1st pump' must start with a letter and hold only letters, digits, _ and -"
    ]


def test_load_configs_refuses_a_bad_section_with_every_problem() -> None:
    with pytest.raises(InvalidLoads) as caught:
        load_configs(
            {
                "loads": {
                    "a": {"adapter": "shelly_gen1", "power_w": 1},
                    "b": {"adapter": "mqtt", "power_w": 1},
                }
            }
        )
    assert str(caught.value) == (
        "loads.a: 'host' is a required property; loads.a: 'run_time' is a required property; "
        "loads.b: 'command_topic' is a required property; loads.b: 'state_topic' is a required "
        "property; loads.b: 'run_time' is a required property"
    )

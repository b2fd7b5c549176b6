"""The ``homeassistant`` settings section: its schema agrees with what the code accepts."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from nodes.homeassistant import (
    SETTINGS_DEFAULTS,
    SETTINGS_SCHEMA,
    HomeAssistantSettings,
    SettingsError,
    loads_from,
)
from nodes.homeassistant.topics import Topics, object_id
from tests.nodes.homeassistant import samples

SCHEMA = SETTINGS_SCHEMA["homeassistant"]


def test_the_defaults_pass_the_schema_and_read_as_documented() -> None:
    jsonschema.validate(SETTINGS_DEFAULTS["homeassistant"], SCHEMA)
    ha = HomeAssistantSettings.from_settings(samples.settings())
    assert (ha.discovery_prefix, ha.topic_prefix, ha.device_id) == (
        "homeassistant",
        "power_master",
        "power_master",
    )
    assert (ha.reserve_min_pct, ha.reserve_max_pct, ha.reserve_step_pct) == (10, 100, 5)


@pytest.mark.parametrize(
    "section",
    [
        {"device_id": "pm 7f3a"},
        {"topic_prefix": "pm/+/x"},
        {"discovery_prefix": "homeassistant/"},
        {"configuration_url": "pi.local:8080"},
        {"reserve_soc_step": 0},
        {"colour": "blue"},
    ],
)
def test_the_schema_refuses_what_the_code_refuses(section: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(section, SCHEMA)


@pytest.mark.parametrize(
    ("name", "made"),
    [
        ("pool_pump", "pool_pump"),
        ("Pool-Pump", "Pool-Pump"),
        ("Pool pump #2", "Pool_pump_2"),
        ("Café heater", "Cafe_heater"),
        ("  spa  ", "spa"),
        ("!!!", ""),
    ],
)
def test_object_ids_change_a_name_only_where_ha_needs_it(name: str, made: str) -> None:
    assert object_id(name) == made


@pytest.mark.parametrize(
    ("loads", "problem"),
    [
        (["!!!"], r"loads\.!!!: has no letters or digits"),
        ("pool_pump", "loads must be a mapping or a list of names"),
    ],
)
def test_loads_that_make_no_id_are_refused(loads: Any, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        loads_from(loads)


def test_topics_from_settings_follow_both_prefixes() -> None:
    topics = Topics.from_settings(
        samples.settings(mqtt={"prefix": "pm"}, homeassistant={"discovery_prefix": "ha"})
    )
    assert (topics.status, topics.state, topics.ha_status) == ("pm/status", "pm/state", "ha/status")
    assert topics.discovery == "ha/device/power_master/config"

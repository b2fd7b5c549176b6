"""The device discovery message: what HA sets up from it, and how a load leaves it."""

from __future__ import annotations

import json
import re
from importlib import metadata
from typing import Any

import pytest

from nodes.control.decision import MODES
from nodes.homeassistant import SettingsError, build_discovery, build_state, encode
from nodes.homeassistant.discovery import LOAD_PREFIX, READINGS, announced_in
from tests.nodes.homeassistant import samples
from tests.nodes.homeassistant.ha_model import (
    ALLOWED_STATE_CLASSES,
    HomeAssistant,
    expand,
    state_of,
)

LOADS = {"pool_pump": {"name": "Pool pump"}, "hot-water": {"name": "Hot water"}}
DASHBOARD_ENERGY = (
    "grid_import_energy",
    "grid_export_energy",
    "pv_energy",
    "battery_charge_energy",
    "battery_discharge_energy",
)


def entities(settings: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """What HA holds after our discovery message for ``settings``."""
    ha = HomeAssistant()
    ha.receive(build_discovery(settings or samples.settings(loads=LOADS)).encoded())
    return ha.entities


def test_one_retained_device_config_on_the_device_topic() -> None:
    found = build_discovery(samples.settings())
    assert found.topic == "homeassistant/device/power_master/config"
    custom = samples.settings(
        homeassistant={"discovery_prefix": "ha", "device_id": "pm_7f3a"}, mqtt={"prefix": "site/pm"}
    )
    other = build_discovery(custom)
    assert other.topic == "ha/device/pm_7f3a/config"
    assert other.payload["avty_t"] == "site/pm/status"
    assert other.payload["cmps"]["battery_soc"]["state_topic"] == "site/pm/state"
    assert other.payload["cmps"]["battery_soc"]["unique_id"] == "pm_7f3a_battery_soc"


def test_device_origin_and_availability_blocks() -> None:
    payload = json.loads(
        build_discovery(
            samples.settings(homeassistant={"configuration_url": "http://192.168.1.20:8080"})
        ).encoded()
    )
    version = metadata.version("power-master")
    assert payload["dev"] == {
        "ids": ["power_master"],
        "name": "Power Master",
        "mf": "Power Master",
        "mdl": "Fox ESS KH controller",
        "sw": version,
        "cu": "http://192.168.1.20:8080",
    }
    assert payload["o"] == {
        "name": "power-master",
        "sw": version,
        "url": "http://192.168.1.20:8080",
    }
    assert payload["avty_t"] == "power_master/status"
    config = expand(payload)  # HA's own check of a device config
    assert config["device"]["identifiers"] == ["power_master"]
    assert config["origin"]["support_url"] == "http://192.168.1.20:8080"


def test_origin_without_a_url_leaves_it_out() -> None:
    payload = build_discovery(samples.settings()).payload
    assert "url" not in payload["o"] and "cu" not in payload["dev"]


def test_every_entity_has_its_required_keys_and_the_shared_availability() -> None:
    held = entities()
    platforms = {entity["platform"] for entity in held.values()}
    assert platforms == {"sensor", "binary_sensor", "select", "number", "switch", "text"}
    for key, entity in held.items():
        assert entity["availability_topic"] == "power_master/status", key
        assert entity["name"], key


def test_unique_ids_are_the_device_id_and_key_unique_and_stable() -> None:
    settings = samples.settings(loads=LOADS)
    first, second = build_discovery(settings), build_discovery(settings)
    assert first.encoded() == second.encoded()
    ids = [config["unique_id"] for config in first.payload["cmps"].values()]
    assert len(ids) == len(set(ids))
    for key, config in first.payload["cmps"].items():
        assert config["unique_id"] == f"power_master_{key}"
        assert re.fullmatch(r"[a-zA-Z0-9_-]+", key), key


def test_energy_sensors_are_what_the_energy_dashboard_accepts() -> None:
    held = entities()
    for key in DASHBOARD_ENERGY:
        entity = held[key]
        assert (entity["device_class"], entity["state_class"], entity["unit_of_measurement"]) == (
            "energy",
            "total_increasing",
            "kWh",
        ), key


def test_device_and_state_classes_pair_as_ha_allows() -> None:
    checked = 0
    for key, entity in entities().items():
        allowed = ALLOWED_STATE_CLASSES.get(entity.get("device_class", ""))
        if allowed is not None:
            assert entity.get("state_class") in allowed, key
            checked += 1
        if entity.get("device_class") == "monetary":
            assert entity["state_class"] == "total", key
    assert checked >= 11  # SOC, four powers, six energies


def test_live_values_and_prices() -> None:
    held = entities()
    assert held["battery_soc"]["device_class"] == "battery"
    assert held["battery_soc"]["unit_of_measurement"] == "%"
    for key in ("pv_power", "home_power", "grid_power", "battery_power"):
        assert (held[key]["device_class"], held[key]["unit_of_measurement"]) == ("power", "W")
        assert held[key]["state_class"] == "measurement"
    for key in ("import_price", "export_price"):
        assert held[key]["unit_of_measurement"] == "AUD/kWh"
        assert "device_class" not in held[key]


def test_mode_and_health_are_enums_with_their_options() -> None:
    held = entities()
    assert held["control_mode"]["device_class"] == "enum"
    assert held["control_mode"]["options"] == [*MODES, "unknown"]
    assert held["health"]["options"] == ["ok", "degraded", "safety", "unknown"]
    assert "device_class" not in held["control_level"]


def test_override_select_offers_auto_and_every_mode_an_override_accepts() -> None:
    select = entities()["override_mode"]
    assert select["options"] == ["auto", *MODES]
    assert select["command_topic"] == "power_master/override/mode/set"
    assert select["state_topic"] == "power_master/override/mode/state"


def test_reserve_number_has_min_max_and_step_from_the_battery() -> None:
    number = entities()["reserve_soc"]
    assert (number["min"], number["max"], number["step"]) == (10, 100, 5)
    assert number["unit_of_measurement"] == "%"
    assert number["command_topic"] == "power_master/config/reserve_soc/set"
    narrow = samples.settings(
        battery={**samples.settings()["battery"], "soc_min": 0.155, "soc_max": 0.95},
        homeassistant={"reserve_soc_step": 1},
    )
    number = entities(narrow)["reserve_soc"]
    assert (number["min"], number["max"], number["step"]) == (16, 95, 1)


def test_a_switch_per_load_with_its_own_topics() -> None:
    held = entities()
    pump, water = held["load_pool_pump"], held["load_hot-water"]
    assert pump["name"] == "Pool pump" and water["name"] == "Hot water"
    assert pump["command_topic"] == "power_master/load/pool_pump/set"
    assert pump["state_topic"] == "power_master/load/pool_pump/state"
    assert (pump["payload_on"], pump["payload_off"]) == ("ON", "OFF")
    assert water["command_topic"] == "power_master/load/hot-water/set"


def test_load_names_are_made_into_ids_ha_accepts() -> None:
    found = build_discovery(samples.settings(), loads=["Pool pump #2", "Spa heater"])
    assert "load_Pool_pump_2" in found.payload["cmps"]
    assert found.payload["cmps"]["load_Pool_pump_2"]["name"] == "Pool pump #2"
    assert "power_master/load/Spa_heater/set" in found.command_topics


def test_two_loads_with_one_id_are_refused_naming_both() -> None:
    with pytest.raises(SettingsError, match=r"loads\.a_b and loads\.a b"):
        build_discovery(samples.settings(), loads=["a b", "a_b"])


def test_command_topics_are_exactly_the_discovered_ones() -> None:
    found = build_discovery(samples.settings(loads=LOADS))
    announced = {c["command_topic"] for c in found.payload["cmps"].values() if "command_topic" in c}
    assert set(found.command_topics) == announced
    # the select, the reserve number, the SOC target's number, text and two switches, two loads
    assert len(found.command_topics) == 8


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"device_id": "power master"}, "homeassistant.device_id"),
        ({"device_id": "pm/7f3a"}, "homeassistant.device_id"),
        ({"discovery_prefix": "home//assistant"}, "homeassistant.discovery_prefix"),
        ({"reserve_soc_step": 0}, "homeassistant.reserve_soc_step"),
        ({"configuration_url": "192.168.1.20:8080"}, "homeassistant.configuration_url"),
        ({"support_url": "ftp://example.invalid"}, "homeassistant.support_url"),
        ({"device_name": " "}, "homeassistant.device_name"),
    ],
)
def test_settings_ha_cannot_use_are_refused_by_name(section: dict[str, Any], named: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)):
        build_discovery(samples.settings(homeassistant=section))


def test_a_removed_load_goes_out_once_as_its_platform_alone() -> None:
    ha = HomeAssistant()
    both = build_discovery(samples.settings(loads=LOADS))
    ha.receive(both.encoded())
    assert {"load_pool_pump", "load_hot-water"} <= ha.entities.keys()
    assert both.announced_loads == {"load_pool_pump", "load_hot-water"}

    one = build_discovery(
        samples.settings(loads={"pool_pump": LOADS["pool_pump"]}), announced=both.announced_loads
    )
    assert one.payload["cmps"]["load_hot-water"] == {"p": "switch"}
    assert one.removed == {"load_hot-water"}
    assert one.announced_loads == {"load_pool_pump"}
    assert "power_master/load/hot-water/set" not in one.command_topics
    ha.receive(one.encoded())
    assert "load_hot-water" not in ha.entities
    assert "load_pool_pump" in ha.entities and "battery_soc" in ha.entities

    after = build_discovery(
        samples.settings(loads={"pool_pump": LOADS["pool_pump"]}), announced=one.announced_loads
    )
    assert "load_hot-water" not in after.payload["cmps"] and not after.removed
    ha.receive(after.encoded())
    assert "load_hot-water" not in ha.entities


def test_leaving_a_load_out_without_its_platform_would_not_remove_it() -> None:
    """Why the announced set is kept: HA keeps a component a new config merely omits."""
    ha = HomeAssistant()
    ha.receive(build_discovery(samples.settings(loads=LOADS)).encoded())
    ha.receive(build_discovery(samples.settings(loads={})).encoded())
    assert "load_hot-water" in ha.entities


def test_the_announced_loads_can_be_read_back_from_our_retained_config() -> None:
    both = build_discovery(samples.settings(loads=LOADS))
    assert announced_in(both.encoded()) == both.announced_loads
    one = build_discovery(samples.settings(loads={}), announced=both.announced_loads)
    assert announced_in(one.encoded()) == frozenset()  # tombstones are not announcements
    assert announced_in(b"") == frozenset()
    assert announced_in(b"{not json") == frozenset()
    assert announced_in(b'{"cmps": []}') == frozenset()


def test_every_template_reads_a_key_the_state_message_has() -> None:
    fields = {reading.field for reading in READINGS}
    assert fields <= build_state(samples.NOW).keys()


def test_ha_reads_every_sensor_from_a_full_state_message() -> None:
    held = entities()
    message = encode(
        build_state(
            samples.NOW,
            samples.telemetry(),
            samples.decision(),
            samples.health(),
            samples.prices(),
            samples.storm(),
            command_check=samples.command_check(),
        )
    )
    states = {
        key: state_of(entity, message)
        for key, entity in held.items()
        if entity.get("state_topic") == "power_master/state"
    }
    assert states["battery_soc"] == 65.0
    assert states["grid_power"] == -320.0
    assert states["grid_import_energy"] == 10482.4
    assert states["import_price"] == pytest.approx(samples.IMPORT_PRICE)
    assert states["control_mode"] == "force_charge"
    assert states["control_level"] == "plan"
    assert states["health"] == "degraded"
    assert states["storm_reserve"] == 80.0
    assert states["storm_reserve_armed"] is True
    assert states["inverter_disobeys"] is True
    assert states["command_check"].startswith("work mode (41000) is Feed-in First (1)")
    assert states["last_update"].timestamp() == samples.NOW
    assert None not in states.values()


def test_ha_shows_unknown_for_everything_an_empty_state_lacks() -> None:
    held = entities()
    message = encode(build_state(samples.NOW))
    for key, entity in held.items():
        if entity.get("state_topic") != "power_master/state" or key == "last_update":
            continue
        assert state_of(entity, message) is None, key


def test_only_load_switches_have_keys_a_load_could_take() -> None:
    """A load called ``power`` must not collide with a sensor (keys ``load_<id>``)."""
    fixed = build_discovery(samples.settings()).payload["cmps"]
    assert not [key for key in fixed if key.startswith(LOAD_PREFIX)]
    found = build_discovery(samples.settings(), loads=["power", "energy"])
    assert found.payload["cmps"]["load_power"]["p"] == "switch"
    assert found.payload["cmps"]["home_power"]["p"] == "sensor"

"""Flexible loads in Home Assistant: each load's sensors and one-off target controls in
the discovery message, its state message, its controls' states, its commands, and how a
load taken out of settings leaves HA."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import VirtualClock
from flowengine.context import ContextStore
from flowengine.database import open_database
from nodes.flexible import one_off
from nodes.flexible.control import _report
from nodes.flexible.deadline import need
from nodes.flexible.decide import FlexDecision
from nodes.flexible.device import ChargerReading
from nodes.flexible.settings import flexible_configs
from nodes.homeassistant import (
    CommandError,
    SetFlexibleBy,
    SetFlexibleTarget,
    SwitchFlexibleTarget,
    build_discovery,
    encode,
    entity_states,
    flexible_state,
    parse_command,
)
from nodes.homeassistant import flexible as ha_flexible
from nodes.homeassistant.discovery import (
    CAR_ONLY,
    FLEXIBLE,
    LOAD_PREFIX,
    announced_in,
    flexible_key,
    platform_of,
)
from nodes.loads.settings import zone_of
from nodes.planning.result import FlexibleResult
from tests.nodes.homeassistant import samples
from tests.nodes.homeassistant.ha_model import HomeAssistant, state_of

NOW = samples.NOW  # 2025-04-10 03:10 in Brisbane
CAR = {
    "name": "EV",
    "kind": "car",
    "adapter": "none",
    "max_w": 7200,
    "battery_kwh": 60,
    "target": {"soc": 0.8, "by": "07:30"},
}
TANK = {
    "name": "Hot water",
    "kind": "hot_water",
    "adapter": "none",
    "max_w": 3600,
    "mode": "solar_only",
    "target": {"energy_kwh": 6, "by": "24:00"},
}
FLEXIBLE_LOADS = {"car": CAR, "hot-water": TANK}
SETTINGS = samples.settings(flexible_loads=FLEXIBLE_LOADS, loads={"pool": {"name": "Pool"}})
CAR_SENSORS = (
    "power",
    "setpoint",
    "session_energy",
    "planned_energy",
    "needed_energy",
    "deadline",
    "reason",
    "mode",
    "plugged",
    "car_soc",
)


def held(settings: dict[str, Any] = SETTINGS) -> dict[str, dict[str, Any]]:
    ha = HomeAssistant()
    ha.receive(build_discovery(settings).encoded())
    return ha.entities


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# -- discovery ---------------------------------------------------------------------------


def test_each_flexible_load_is_announced_under_the_device_with_its_id_in_every_key() -> None:
    entities = held()
    car = {key for key in entities if key.startswith("flex_car_")}
    assert car == {f"flex_car_{what}" for what in FLEXIBLE}
    tank = {key for key in entities if key.startswith("flex_hot-water_")}
    assert tank == {f"flex_hot-water_{what}" for what in FLEXIBLE if what not in CAR_ONLY}
    for key in car | tank:
        entity = entities[key]
        assert entity["unique_id"] == f"power_master_{key}"
        assert entity["availability_topic"] == "power_master/status"
        assert entity["platform"] == FLEXIBLE[key.split("_", 2)[2]]
    assert entities["flex_car_power"]["name"] == "EV power"
    assert entities["flex_hot-water_target_by"]["name"] == "Hot water target by"


def test_the_sensors_read_the_loads_own_state_topic_in_has_units() -> None:
    entities = held()
    for what in CAR_SENSORS:
        assert entities[f"flex_car_{what}"]["state_topic"] == "power_master/flexible/car/state"
    power, energy = entities["flex_car_power"], entities["flex_car_session_energy"]
    assert (power["device_class"], power["unit_of_measurement"]) == ("power", "W")
    assert power["state_class"] == "measurement"
    assert (energy["device_class"], energy["state_class"]) == ("energy", "total_increasing")
    for what in ("planned_energy", "needed_energy"):
        sensor = entities[f"flex_car_{what}"]
        assert (sensor["device_class"], sensor["unit_of_measurement"]) == ("energy", "kWh")
        assert "state_class" not in sensor  # not a meter: no statistics summed from it
    assert entities["flex_car_deadline"]["device_class"] == "timestamp"
    assert entities["flex_car_plugged"]["device_class"] == "plug"
    assert entities["flex_car_car_soc"]["unit_of_measurement"] == "%"
    assert entities["flex_car_mode"]["options"] == ["cheapest", "solar_only", "unknown"]
    assert "device_class" not in entities["flex_car_reason"]


def test_the_target_is_a_soc_for_a_car_with_a_battery_and_an_energy_otherwise() -> None:
    entities = held()
    soc = entities["flex_car_target"]
    assert (soc["min"], soc["max"], soc["step"], soc["unit_of_measurement"]) == (1, 100, 1, "%")
    assert soc["command_topic"] == "power_master/flexible/car/target/soc/set"
    assert soc["state_topic"] == "power_master/flexible/car/target/soc/state"
    energy = entities["flex_hot-water_target"]
    assert (energy["min"], energy["max"], energy["unit_of_measurement"]) == (0, 87, "kWh")
    assert energy["step"] == 0.1 and energy["mode"] == "box"
    assert energy["command_topic"] == "power_master/flexible/hot-water/target/energy/set"
    by = entities["flex_car_target_by"]
    assert by["command_topic"] == "power_master/flexible/car/target/by/set"
    assert re.fullmatch(by["pattern"], "07:30") and not re.fullmatch(by["pattern"], "24:00")
    switch = entities["flex_car_target_active"]
    assert switch["command_topic"] == "power_master/flexible/car/target/active/set"
    assert (switch["payload_on"], switch["payload_off"]) == ("ON", "OFF")
    # a car without its battery's size can only be given energy
    no_battery = {**CAR, "target": {"energy_kwh": 20, "by": "07:30"}}
    del no_battery["battery_kwh"]
    plain = held(samples.settings(flexible_loads={"car": no_battery}))["flex_car_target"]
    assert plain["unit_of_measurement"] == "kWh" and plain["max"] == 173


def test_command_topics_are_exactly_the_discovered_ones() -> None:
    found = build_discovery(SETTINGS)
    announced = {c["command_topic"] for c in found.payload["cmps"].values() if "command_topic" in c}
    assert set(found.command_topics) == announced
    assert len(found.command_topics) == 6 + 1 + 2 * 3  # fixed, a load, two flexible loads


def test_no_two_flexible_loads_keys_can_meet() -> None:
    """``flex_<id>_<what>``: ids may hold ``_``, so no ``<what>`` may end with ``_`` and
    another ``<what>`` (``car`` + ``target_by`` would meet ``car_target`` + ``by``)."""
    for what in FLEXIBLE:
        assert not [other for other in FLEXIBLE if other != what and what.endswith(f"_{other}")]
    tricky = {
        "car": CAR,
        "car_target": CAR,
        "car_target_by": TANK,
        "power": TANK,
        "load_x": TANK,
    }
    payload = build_discovery(samples.settings(flexible_loads=tricky, loads=["x"])).payload
    ids = [c["unique_id"] for c in payload["cmps"].values()]
    assert len(ids) == len(set(ids))
    assert payload["cmps"]["load_x"]["p"] == "switch"  # the load, not the flexible load_x
    assert payload["cmps"]["flex_load_x_power"]["p"] == "sensor"
    for key, config in payload["cmps"].items():
        assert platform_of(key) in (None, config["p"]), key
        assert not key.startswith(LOAD_PREFIX) or key == "load_x", key


def test_platform_of_a_key_names_what_a_removal_must() -> None:
    assert platform_of("load_pool") == "switch"
    assert platform_of("flex_car_plugged") == "binary_sensor"
    assert platform_of("flex_car_target_by") == "text"
    assert platform_of("flex_car_target") == "number"
    assert platform_of("flex_a_b_target_active") == "switch"
    assert platform_of("flex_car_power") == "sensor"
    assert platform_of("flex_x_power") == "sensor" and platform_of("flex_power") is None
    assert platform_of("battery_soc") is None and platform_of("flex_car_colour") is None


def test_a_removed_flexible_load_goes_out_once_as_each_components_platform() -> None:
    ha = HomeAssistant()
    both = build_discovery(SETTINGS)
    ha.receive(both.encoded())
    assert {flexible_key("car", what) for what in FLEXIBLE} <= both.announced_loads
    assert "load_pool" in both.announced_loads

    tank_only = samples.settings(flexible_loads={"hot-water": TANK}, loads={"pool": {}})
    one = build_discovery(tank_only, announced=both.announced_loads)
    assert one.removed == {flexible_key("car", what) for what in FLEXIBLE}
    for what, platform in FLEXIBLE.items():
        assert one.payload["cmps"][flexible_key("car", what)] == {"p": platform}
    assert not [t for t in one.command_topics if "/flexible/car/" in t]
    ha.receive(one.encoded())
    assert not [key for key in ha.entities if key.startswith("flex_car_")]
    assert "flex_hot-water_power" in ha.entities and "load_pool" in ha.entities

    after = build_discovery(tank_only, announced=one.announced_loads)
    assert not after.removed and "flex_car_power" not in after.payload["cmps"]


def test_a_car_that_becomes_a_tank_loses_its_car_sensors() -> None:
    first = build_discovery(samples.settings(flexible_loads={"ev": CAR}))
    as_other = {**CAR, "kind": "other", "target": {"energy_kwh": 10, "by": "07:30"}}
    second = build_discovery(
        samples.settings(flexible_loads={"ev": as_other}), announced=first.announced_loads
    )
    assert second.removed == {"flex_ev_plugged", "flex_ev_car_soc"}
    assert second.payload["cmps"]["flex_ev_plugged"] == {"p": "binary_sensor"}
    assert second.payload["cmps"]["flex_ev_target"]["unit_of_measurement"] == "kWh"


def test_the_announced_flexible_keys_can_be_read_back_from_our_retained_config() -> None:
    both = build_discovery(SETTINGS)
    assert announced_in(both.encoded()) == both.announced_loads
    gone = build_discovery(samples.settings(), announced=both.announced_loads)
    assert announced_in(gone.encoded()) == frozenset()
    # a component under a flexible key but of another platform is none of ours
    odd = {"cmps": {"flex_car_power": {"p": "switch", "unique_id": "x"}}}
    assert announced_in(json.dumps(odd)) == frozenset()


# -- the state message -------------------------------------------------------------------


def report(soc: float | None = 0.42, plugged: bool | None = True) -> dict[str, Any]:
    """global.flexible_loads["car"] as flexible.control writes it."""
    config = flexible_configs(SETTINGS)["car"]
    state = {"setpoint_w": 7200.0, "plugged": plugged, "soc": soc, "session_start": NOW - 3600}
    state["session_kwh"] = 6.9123
    needed = need(config, state, NOW, zone_of(SETTINGS))
    reading = ChargerReading(7154.6, plugged, soc)
    decision = FlexDecision(7200.0, "03:00 slot at 8.1c: the plan's 7200 W")
    return _report(config, state, reading, decision, needed, None)


def plan(needed_kwh: float = 25.3) -> dict[str, Any]:
    """global.plan with the car's ``flexible`` entry, as planning.plan keeps it."""
    result = FlexibleResult("car", 25.3, 21.5, 3.8, 0.5, True, False, False, [7200.0, 0.0])
    entry = result.to_dict()
    entry.update(deadline="2025-04-10T21:30:00+00:00", needed_kwh=needed_kwh, why="EV: ...")
    return {"slots": [], "flexible": [entry]}


def test_the_state_message_from_controls_report_and_the_plan() -> None:
    config = flexible_configs(SETTINGS)["car"]
    state = flexible_state(config, NOW, SETTINGS, report(), plan())
    assert state == {
        "power_w": 7155,
        "setpoint_w": 7200,
        "session_kwh": 6.912,
        "planned_kwh": 21.5,
        # control's, live: the car's 42 % taken as 41.5 % (it says whole percent)
        "needed_kwh": round((0.8 - 0.415) * 60 / 0.9, 3),
        "deadline": "2025-04-10T07:30:00+10:00",
        "reason": "03:00 slot at 8.1c: the plan's 7200 W",
        "plugged": "ON",
        "soc": 42.0,
        "mode": "cheapest",
    }
    entities = held()
    message = encode(state)
    read = {
        key: state_of(entity, message)
        for key, entity in entities.items()
        if entity.get("state_topic") == "power_master/flexible/car/state"
    }
    assert read["flex_car_power"] == 7155.0
    assert read["flex_car_session_energy"] == 6.912
    assert read["flex_car_planned_energy"] == 21.5
    assert read["flex_car_deadline"].timestamp() == epoch("2025-04-10T07:30:00+10:00")
    assert read["flex_car_plugged"] is True
    assert read["flex_car_car_soc"] == 42.0
    assert read["flex_car_mode"] == "cheapest"
    assert None not in read.values()


def test_before_control_reports_ha_shows_unknown_but_the_deadline_and_mode() -> None:
    config = flexible_configs(SETTINGS)["hot-water"]
    state = flexible_state(config, NOW, SETTINGS)
    assert state["deadline"] == "2025-04-11T00:00:00+10:00"  # 24:00 tonight
    assert state["mode"] == "solar_only"
    entities = held()
    message = encode(state)
    for key, entity in entities.items():
        if entity.get("state_topic") != "power_master/flexible/hot-water/state":
            continue
        if key.endswith(("_deadline", "_mode")):
            assert state_of(entity, message) is not None, key
        else:
            assert state_of(entity, message) is None, key


def test_the_plans_need_stands_in_until_control_reports_and_a_one_off_moves_the_deadline() -> None:
    config = flexible_configs(SETTINGS)["car"]
    targets = {"car": {"soc": 0.9, "by": NOW + 7200, "source": "homeassistant", "set_at": NOW}}
    state = flexible_state(config, NOW, SETTINGS, None, plan(30.0), targets)
    assert state["needed_kwh"] == 30.0 and state["planned_kwh"] == 21.5
    assert state["deadline"] == "2025-04-10T05:10:00+10:00"
    assert state["plugged"] is None and state["soc"] is None


@pytest.mark.parametrize("junk", ["text", [1], {"power_w": "lots", "plugged": "yes", "soc": True}])
def test_garbage_gives_nulls_not_a_crash(junk: Any) -> None:
    config = flexible_configs(SETTINGS)["car"]
    state = flexible_state(config, NOW, SETTINGS, junk, {"flexible": junk}, junk)
    assert state["power_w"] is None and state["plugged"] is None and state["soc"] is None
    json.loads(encode(state))


# -- the controls' states ------------------------------------------------------------------


def test_until_chosen_the_controls_show_the_configured_target_and_the_switch_is_off() -> None:
    states = entity_states(SETTINGS, NOW)
    assert states["power_master/flexible/car/target/soc/state"] == "80"
    assert states["power_master/flexible/car/target/by/state"] == "07:30"
    assert states["power_master/flexible/car/target/active/state"] == "OFF"
    assert states["power_master/flexible/hot-water/target/energy/state"] == "6"
    assert states["power_master/flexible/hot-water/target/by/state"] == "00:00"


def test_the_controls_show_the_choice_and_the_switch_whether_has_target_is_to_come() -> None:
    choice = {"car": {"soc": 0.95, "by": "06:00"}, "hot-water": {"energy_kwh": 4.5, "by": "17:00"}}
    ours = {"car": {"soc": 0.95, "by": NOW + 600, "source": "homeassistant", "set_at": NOW}}
    states = entity_states(SETTINGS, NOW, flexible_choice=choice, flexible_targets=ours)
    assert states["power_master/flexible/car/target/soc/state"] == "95"
    assert states["power_master/flexible/car/target/by/state"] == "06:00"
    assert states["power_master/flexible/car/target/active/state"] == "ON"
    assert states["power_master/flexible/hot-water/target/energy/state"] == "4.5"
    assert states["power_master/flexible/hot-water/target/active/state"] == "OFF"
    api = {"car": {**ours["car"], "source": "api"}}
    past = {"car": {**ours["car"], "by": NOW}}
    for targets in (api, past, None):
        states = entity_states(SETTINGS, NOW, flexible_choice=choice, flexible_targets=targets)
        assert states["power_master/flexible/car/target/active/state"] == "OFF"


def test_a_choice_is_kept_within_the_numbers_range() -> None:
    configs = flexible_configs(SETTINGS)
    assert ha_flexible.chosen({"soc": 7, "by": 5}, configs["car"]) == {"soc": 1.0, "by": "07:30"}
    tank = ha_flexible.chosen({"energy_kwh": 1e6, "soc": 0.5}, configs["hot-water"])
    assert tank == {"energy_kwh": 87.0, "by": "00:00"}


def test_what_the_controls_chose_is_a_request_set_target_takes_and_the_switch_reads_on() -> None:
    clock = VirtualClock(NOW)
    context = ContextStore(open_database(":memory:"), clock)
    config = flexible_configs(SETTINGS)["car"]
    request = ha_flexible.request(ha_flexible.chosen({"soc": 0.9, "by": "06:00"}, config))
    assert request == {"soc": 0.9, "by": "06:00"}
    stored = one_off.set_target(context, NOW, SETTINGS, "car", request, ha_flexible.SOURCE)
    assert stored["by"] == epoch("2025-04-10T06:00:00+10:00")
    targets = context.get("global", one_off.TARGETS_KEY)
    assert ha_flexible.is_on(targets, "car", NOW)
    assert not ha_flexible.is_on(targets, "hot-water", NOW)
    assert not ha_flexible.is_on(targets, "car", stored["by"])


# -- commands ------------------------------------------------------------------------------

CAR_TOPIC = "power_master/flexible/car/target"
TANK_TOPIC = "power_master/flexible/hot-water/target"


def parse(topic: str, payload: str) -> Any:
    return parse_command(SETTINGS, topic, payload)


def refusal(topic: str, payload: str, settings: dict[str, Any] = SETTINGS) -> str:
    with pytest.raises(CommandError) as caught:
        parse_command(settings, topic, payload)
    assert caught.value.topic == topic
    return caught.value.problem


def test_the_flexible_target_controls() -> None:
    assert parse(f"{CAR_TOPIC}/soc/set", "90") == SetFlexibleTarget("car", soc=0.9)
    assert parse(f"{CAR_TOPIC}/soc/set", "100") == SetFlexibleTarget("car", soc=1.0)
    assert parse(f"{TANK_TOPIC}/energy/set", "4.5") == SetFlexibleTarget(
        "hot-water", energy_kwh=4.5
    )
    assert parse(f"{TANK_TOPIC}/energy/set", "0") == SetFlexibleTarget("hot-water", energy_kwh=0)
    assert parse(f"{CAR_TOPIC}/by/set", "6:15") == SetFlexibleBy("car", "06:15")
    assert parse(f"{TANK_TOPIC}/active/set", "on") == SwitchFlexibleTarget("hot-water", True)
    assert parse(f"{CAR_TOPIC}/active/set", "OFF") == SwitchFlexibleTarget("car", False)
    prefixed = samples.settings(flexible_loads=FLEXIBLE_LOADS, mqtt={"prefix": "site7/pm"})
    topic = "site7/pm/flexible/car/target/active/set"
    assert parse_command(prefixed, topic, "ON") == SwitchFlexibleTarget("car", True)


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        (f"{CAR_TOPIC}/soc/set", "120", "120 % is outside 1 to 100 %"),
        (f"{CAR_TOPIC}/soc/set", "0", "0 % is outside 1 to 100 %"),
        (f"{CAR_TOPIC}/soc/set", "full", "'full' is not a number of percent"),
        (f"{TANK_TOPIC}/energy/set", "-1", "-1 kWh is outside 0 to 87 kWh"),
        (f"{TANK_TOPIC}/energy/set", "nan", "'nan' is not a number of kWh"),
        (f"{TANK_TOPIC}/energy/set", "lots", "'lots' is not a number of kWh"),
        (f"{CAR_TOPIC}/by/set", "24:00", "'24:00' is not a time of day (HH:MM)"),
        (f"{CAR_TOPIC}/active/set", "maybe", "'maybe' is neither ON nor OFF"),
        (f"{CAR_TOPIC}/active/set", "", "payload is empty"),
        # the car's amount is a SOC, the tank's an energy; no such load
        (f"{CAR_TOPIC}/energy/set", "10", "not a command topic of ours"),
        (f"{TANK_TOPIC}/soc/set", "80", "not a command topic of ours"),
        ("power_master/flexible/boat/target/active/set", "ON", "not a command topic of ours"),
        ("power_master/flexible/car/state", "{}", "not a command topic of ours"),
    ],
)
def test_a_bad_flexible_target_command_is_refused(topic: str, payload: str, problem: str) -> None:
    assert problem in refusal(topic, payload)


def test_a_retained_flexible_command_is_never_acted_on() -> None:
    with pytest.raises(CommandError, match="retained command is ignored"):
        parse_command(SETTINGS, f"{CAR_TOPIC}/active/set", "ON", retained=True)


def test_unusable_flexible_loads_are_a_refusal_not_a_crash() -> None:
    broken = samples.settings(flexible_loads={"car": {**CAR, "max_w": -1}})
    assert "flexible_loads cannot be used" in refusal(f"{CAR_TOPIC}/active/set", "ON", broken)


def test_the_deadline_is_the_sites_wall_time_with_its_offset() -> None:
    config = flexible_configs(SETTINGS)["car"]
    deadline = flexible_state(config, NOW, SETTINGS)["deadline"]
    assert datetime.fromisoformat(deadline).utcoffset() is not None
    assert datetime.fromisoformat(deadline).astimezone(UTC).hour == 21

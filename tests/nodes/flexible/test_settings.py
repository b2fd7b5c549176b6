"""The flexible_loads section: what it accepts, and each problem at its place."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.flexible import InvalidFlexibleLoads, check_flexible_loads, flexible_configs

CAR: dict[str, Any] = {
    "adapter": "mqtt",
    "command_topic": "evse/set",
    "max_w": 7200,
    "min_w": 1380,
    "window": {"from": "18:00", "to": "07:30"},
    "target": {"soc": 0.8, "by": "07:30", "days": ["mon", "tue", "wed", "thu", "fri"]},
    "battery_kwh": 60,
}
TANK: dict[str, Any] = {
    "kind": "hot_water",
    "adapter": "shelly_gen2",
    "host": "10.0.0.9",
    "max_w": 3600,
    "mode": "solar_only",
    "target": {"energy_kwh": 6, "by": "06:00", "hard": False, "shortfall_price": 0.3},
}


def messages(section: Any) -> list[str]:
    return [str(p) for p in check_flexible_loads(section)]


def test_a_car_and_a_tank_parse_with_their_defaults() -> None:
    loads = flexible_configs({"flexible_loads": {"car": CAR, "tank": TANK}})
    car, tank = loads["car"], loads["tank"]
    assert car.kind == "car" and car.min_w == 1380 and not car.from_battery
    assert car.target.soc == 0.8 and car.target.by_min == 7 * 60 + 30
    assert car.target.days == (0, 1, 2, 3, 4)
    weekdays = {**CAR, "target": {**CAR["target"], "days": "weekdays"}}
    assert flexible_configs({"flexible_loads": {"car": weekdays}})["car"].target.days == (
        0,
        1,
        2,
        3,
        4,
    )
    assert car.window is not None and car.window.wraps
    assert car.energy_for_soc(0.3, 0.8) == pytest.approx(0.5 * 60 / 0.9)
    assert tank.solar_only and tank.min_w == 3600  # a relay is on or off
    assert not tank.target.hard and tank.target.shortfall_price == 0.3
    assert tank.target.days == tuple(range(7))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"max_w": -1}, "flexible_loads.car.max_w: -1 is less than or equal to the minimum of 0"),
        ({"min_w": 9000}, "flexible_loads.car.min_w: min_w 9000 W is above max_w (7200 W)"),
        ({"target": {"by": "7:75", "soc": 0.8}}, "flexible_loads.car.target.by: '7:75' is not"),
        ({"target": {"by": "07:30"}}, "flexible_loads.car.target: give the target energy_kwh"),
        (
            {"target": {"by": "07:30", "soc": 0.8, "energy_kwh": 5}},
            "flexible_loads.car.target: give the target energy_kwh",
        ),
        ({"kind": "hot_water"}, "flexible_loads.car.kind: a SOC target is a car's"),
        ({"battery_kwh": None}, "flexible_loads.car.battery_kwh: None is not of type"),
        ({"command_topic": None}, "flexible_loads.car.command_topic: None is not of type"),
        ({"mode": "sunny"}, "flexible_loads.car.mode: 'sunny' is not one of"),
    ],
)
def test_each_problem_is_named_at_its_place(change: dict[str, Any], expected: str) -> None:
    car = {**CAR, **change}
    found = messages({"car": car})
    assert any(m.startswith(expected) for m in found), found


def test_a_soc_target_needs_the_car_battery() -> None:
    car = {k: v for k, v in CAR.items() if k != "battery_kwh"}
    assert messages({"car": car}) == [
        "flexible_loads.car.battery_kwh: a SOC target needs the car's battery_kwh"
    ]


def test_an_mqtt_charger_needs_its_command_topic() -> None:
    car = {k: v for k, v in CAR.items() if k != "command_topic"}
    assert messages({"car": car}) == ["flexible_loads.car: 'command_topic' is a required property"]


def test_a_relay_cannot_modulate() -> None:
    assert messages({"tank": {**TANK, "min_w": 100}}) == [
        "flexible_loads.tank.min_w: a relay is on or off: set min_w to max_w (or leave it out)"
    ]


def test_a_bad_id_is_refused() -> None:
    assert messages({"2car": CAR}) == [
        "flexible_loads: load id '2car' must start with a letter and hold only letters, "
        "digits, _ and -"
    ]


def test_flexible_configs_raises_with_every_problem() -> None:
    with pytest.raises(InvalidFlexibleLoads, match=r"min_w.*battery_kwh|battery_kwh.*min_w"):
        bad = {k: v for k, v in CAR.items() if k != "battery_kwh"}
        flexible_configs({"flexible_loads": {"car": {**bad, "min_w": 9000}}})

"""Commands from HA: good ones become actions set_override and friends accept; bad ones
are refused naming the topic, and nothing is done."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine import VirtualClock
from flowengine.context import ContextStore
from flowengine.database import open_database
from nodes.control.decision import MODES
from nodes.control.override_rules import active_override, set_override
from nodes.homeassistant import (
    ClearOverride,
    CommandError,
    SetOverride,
    SetReserveSoc,
    SetTargetBy,
    SetTargetHard,
    SetTargetSoc,
    SwitchLoad,
    SwitchTarget,
    parse_command,
)
from tests.nodes.homeassistant import samples

MODE = "power_master/override/mode/set"
RESERVE = "power_master/config/reserve_soc/set"
LOADS = {"pool_pump": {"name": "Pool pump"}, "hot-water": {"name": "Hot water"}}
SETTINGS = samples.settings(loads=LOADS)


def parse(topic: str, payload: bytes | str, settings: dict[str, Any] = SETTINGS) -> Any:
    return parse_command(settings, topic, payload)


def refusal(topic: str, payload: bytes | str, settings: dict[str, Any] = SETTINGS) -> str:
    with pytest.raises(CommandError) as caught:
        parse(topic, payload, settings)
    assert caught.value.topic == topic
    assert str(caught.value).startswith(f"command on {topic}: ")
    return caught.value.problem


def test_auto_clears_the_override() -> None:
    assert parse(MODE, b"auto") == ClearOverride()
    assert parse(MODE, b' {"mode": "auto"} ') == ClearOverride()


def test_a_mode_from_the_select_forces_at_full_power_for_the_default_duration() -> None:
    assert parse(MODE, b"force_charge") == SetOverride("force_charge", 5000.0, 7200.0)
    assert parse(MODE, b"force_discharge\n") == SetOverride("force_discharge", 5000.0, 7200.0)
    assert parse(MODE, b"hold") == SetOverride("hold", 0.0, 7200.0)


def test_the_default_duration_comes_from_control_and_stays_within_the_maximum() -> None:
    control = samples.settings()["control"]
    short = samples.settings(control={**control, "override_default_duration": "30m"})
    assert parse(MODE, b"self_use", short).duration_s == 1800.0
    capped = samples.settings(control={**control, "override_max_duration": "1h"})
    assert parse(MODE, b"self_use", capped).duration_s == 3600.0


def test_a_json_override_says_power_duration_and_reason() -> None:
    payload = b'{"mode": "force_discharge", "power_w": 3000, "duration": "1h", "reason": "peak"}'
    assert parse(MODE, payload) == SetOverride("force_discharge", 3000.0, 3600.0, "peak")
    assert parse(MODE, b'{"mode": "force_charge", "duration": 900}') == SetOverride(
        "force_charge", 5000.0, 900.0
    )


@pytest.mark.parametrize("mode", MODES)
def test_every_parsed_override_is_one_set_override_stores(mode: str) -> None:
    clock = VirtualClock(samples.NOW)
    context = ContextStore(open_database(":memory:"), clock)
    command = parse(MODE, mode.encode())
    stored = set_override(
        context, clock, SETTINGS, command.mode, command.power_w, command.duration_s, "mqtt"
    )
    assert stored["mode"] == mode
    assert active_override(context, samples.NOW + 7199) is not None
    assert active_override(context, samples.NOW + 7200) is None


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"turbo", "'turbo' is not an option: one of auto, self_use"),
        (b"\xff\xfe", "payload is not UTF-8 text"),
        (b"   ", "payload is empty"),
        (b"{mode: hold}", "payload is not valid JSON"),
        (b'{"mode": "hold", "colour": "red"}', "unknown field(s) colour"),
        (b'{"mode": "warp"}', "mode must be one of auto, self_use"),
        (b'{"power_w": 100}', "mode must be one of"),
        (b'{"mode": "force_charge", "power_w": 9000}', "outside 0 to the battery's charge"),
        (b'{"mode": "force_charge", "power_w": -5}', "power_w -5 W is outside"),
        (b'{"mode": "force_charge", "power_w": true}', "power_w must be a number"),
        (b'{"mode": "force_charge", "power_w": "lots"}', "power_w must be a number"),
        (b'{"mode": "hold", "duration": "48h"}', "duration 172800 s is outside"),
        (b'{"mode": "hold", "duration": "soon"}', "duration: 'soon' is not a duration"),
        (b'{"mode": "hold", "duration": 0}', "duration 0 s is outside"),
        (b'{"mode": "hold", "reason": 7}', "reason must be text"),
        (b"x" * 2000, "payload of 2000 bytes is too long"),
    ],
)
def test_bad_override_payloads_are_refused(payload: bytes, problem: str) -> None:
    assert problem in refusal(MODE, payload)


def test_a_json_array_is_not_an_override() -> None:
    assert refusal(MODE, b'["hold"]') == "'[\"hold\"]' is not an option: one of " + ", ".join(
        ("auto", *MODES)
    )
    assert refusal(MODE, b"{}").startswith("mode must be one of")


def test_reserve_soc_in_percent_becomes_a_fraction() -> None:
    assert parse(RESERVE, b"80") == SetReserveSoc(0.8)
    assert parse(RESERVE, "35.5") == SetReserveSoc(0.355)
    assert parse(RESERVE, b"10") == SetReserveSoc(0.1)
    assert parse(RESERVE, b"100.0") == SetReserveSoc(1.0)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"5", "5 % is outside 10 to 100 %"),
        (b"101", "101 % is outside 10 to 100 %"),
        (b"eighty", "'eighty' is not a number of percent"),
        (b"nan", "'nan' is not a number of percent"),
        (b"inf", "'inf' is not a number of percent"),
        (b"", "payload is empty"),
    ],
)
def test_bad_reserve_payloads_are_refused(payload: bytes, problem: str) -> None:
    assert refusal(RESERVE, payload) == problem


def test_load_switches_turn_a_load_on_and_off_by_its_settings_key() -> None:
    assert parse("power_master/load/pool_pump/set", b"ON") == SwitchLoad("pool_pump", True)
    assert parse("power_master/load/pool_pump/set", b"off") == SwitchLoad("pool_pump", False)
    assert parse("power_master/load/hot-water/set", b"ON") == SwitchLoad("hot-water", True)


def test_a_load_named_by_a_list_keeps_its_name_as_the_key() -> None:
    topic = "power_master/load/Spa_heater/set"
    command = parse_command(samples.settings(), topic, b"ON", loads=["Spa heater"])
    assert command == SwitchLoad("Spa heater", True)


def test_bad_load_commands_are_refused() -> None:
    assert refusal("power_master/load/pool_pump/set", b"toggle") == "'toggle' is neither ON nor OFF"
    unknown = refusal("power_master/load/sauna/set", b"ON")
    assert unknown == "not a command topic of ours (no such control or load)"
    assert "not a command topic" in refusal("power_master/state", b"{}")


def test_a_retained_command_is_never_acted_on() -> None:
    with pytest.raises(CommandError, match="retained command is ignored"):
        parse_command(SETTINGS, MODE, b"force_charge", retained=True)


def test_topics_follow_the_configured_prefix() -> None:
    settings = samples.settings(mqtt={"prefix": "site7/pm"}, loads=LOADS)
    assert parse_command(settings, "site7/pm/override/mode/set", b"auto") == ClearOverride()
    assert "not a command topic" in refusal(MODE, b"auto", settings)


# -- an override set ahead, and the SOC target's controls ----------------------------------


def test_a_json_override_may_be_set_ahead_with_from_and_until() -> None:
    payload = '{"mode": "hold", "from": "2026-01-20T17:00+10:00", "until": 1768899600}'
    assert parse(MODE, payload) == SetOverride(
        "hold", 0.0, None, start=1768892400.0, until=1768899600.0
    )
    with_duration = parse(MODE, '{"mode": "hold", "from": 1768892400, "duration": "30m"}')
    assert (with_duration.start, with_duration.duration_s) == (1768892400.0, 1800.0)
    assert "from: 'soon' is not a time" in refusal(MODE, '{"mode": "hold", "from": "soon"}')
    both = '{"mode": "hold", "until": 1768899600, "duration": "1h"}'
    assert refusal(MODE, both) == "give duration or until, not both"


TARGET = "power_master/target"


def test_the_soc_target_controls() -> None:
    assert parse(f"{TARGET}/soc/set", "85") == SetTargetSoc(0.85)
    assert parse(f"{TARGET}/by/set", "7:30") == SetTargetBy("07:30")
    assert parse(f"{TARGET}/by/set", "16:00") == SetTargetBy("16:00")
    assert parse(f"{TARGET}/hard/set", "ON") == SetTargetHard(True)
    assert parse(f"{TARGET}/active/set", "off") == SwitchTarget(False)


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        ("soc", "120", "120 % is outside"),
        ("soc", "lots", "is not a number of percent"),
        ("by", "25:00", "'25:00' is not a time of day (HH:MM)"),
        ("by", "4pm", "is not a time of day"),
        ("hard", "maybe", "is neither ON nor OFF"),
        ("active", "", "payload is empty"),
    ],
)
def test_a_bad_soc_target_command_is_refused(topic: str, payload: str, problem: str) -> None:
    assert problem in refusal(f"{TARGET}/{topic}/set", payload)

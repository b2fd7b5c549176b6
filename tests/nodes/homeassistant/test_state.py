"""The state message and the controls' state topics, from what the real producers keep."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from nodes.homeassistant import build_state, encode, entity_states
from nodes.homeassistant.discovery import READINGS
from tests.nodes.homeassistant import samples

NOW = samples.NOW
LOADS = {"pool_pump": {"name": "Pool pump"}, "spa": {"name": "Spa"}}


def full_state() -> dict[str, Any]:
    return build_state(
        NOW,
        samples.telemetry(),
        samples.decision(),
        samples.health(),
        samples.prices(),
        samples.storm(),
    )


def test_values_in_ha_units_from_a_real_telemetry_dict() -> None:
    state = full_state()
    assert state["timestamp"] == "2025-04-09T17:10:00+00:00"
    assert state["telemetry_at"] == "2025-04-09T17:09:55+00:00"
    assert state["battery_soc"] == 65.0  # soc 0.65 -> %
    assert (state["pv_w"], state["load_w"], state["battery_w"], state["grid_w"]) == (
        3120,
        1300,
        1500,  # + = charging
        -320,  # + = importing: exporting here
    )
    assert state["grid_import_kwh"] == 10482.4
    assert state["grid_export_kwh"] == 6120.9
    assert state["pv_kwh"] == 8123.4
    assert state["battery_charge_kwh"] == 2950.1
    assert state["battery_discharge_kwh"] == 2801.7
    assert state["load_kwh"] == 11890.3


def test_prices_are_the_interval_covering_now() -> None:
    state = full_state()
    assert state["import_price"] == pytest.approx(samples.IMPORT_PRICE)
    assert state["export_price"] == pytest.approx(samples.EXPORT_PRICE)
    later = build_state(NOW + 1800, prices=samples.prices())  # the next (forecast) interval
    assert later["import_price"] == pytest.approx(0.2241988)
    gone = build_state(NOW + 30 * 86400, prices=samples.prices())  # past the reading's end
    assert gone["import_price"] is None and gone["export_price"] is None


def test_prices_data_alone_is_read_too() -> None:
    state = build_state(NOW, prices=samples.prices()["data"])
    assert state["import_price"] == pytest.approx(samples.IMPORT_PRICE)


def test_decision_health_and_storm() -> None:
    state = full_state()
    assert (state["mode"], state["level"]) == ("force_charge", "plan")
    assert state["reason"] == "the plan charges at $0.24/kWh"
    assert state["health"] == "degraded"
    assert state["storm_armed"] == "ON"
    assert state["storm_reserve_soc"] == 80.0
    assert state["storm_probability"] == 85.0
    calm = build_state(NOW, storm=samples.storm(armed=False), health=samples.health("ok"))
    assert (calm["storm_armed"], calm["storm_reserve_soc"], calm["storm_probability"]) == (
        "OFF",
        0,
        25.0,
    )
    assert calm["health"] == "ok"


def test_the_inverter_not_doing_what_it_was_told_is_a_problem_with_its_reasons() -> None:
    told = build_state(NOW, command_check=samples.command_check(work_mode=1))
    assert told["command_problem"] == "ON"
    assert told["command_check"].startswith("work mode (41000) is Feed-in First (1), not Self")
    following = build_state(NOW, command_check=samples.command_check(work_mode=0))
    assert (following["command_problem"], following["command_check"]) == ("OFF", "ok")
    shadow: dict[str, Any] = {"state": "ok", "reasons": [], "findings": [], "commanded": None}
    assert build_state(NOW, command_check=shadow)["command_check"] == "nothing commanded"
    unknown = build_state(NOW)
    assert (unknown["command_problem"], unknown["command_check"]) == (None, None)


def test_every_key_a_template_reads_is_there_and_null_without_inputs() -> None:
    state = build_state(NOW)
    for reading in READINGS:
        assert reading.field in state, reading.key
        if reading.field != "timestamp":
            assert state[reading.field] is None, reading.field
    json.loads(encode(state))  # valid JSON, no NaN


@pytest.mark.parametrize(
    "junk",
    [
        "text",
        [1, 2],
        {"soc": "full", "pv_w": math.nan, "energy_kwh": "lots", "timestamp": NOW},
        {"soc": True, "grid_w": math.inf, "energy_kwh": {"pv": math.nan}, "timestamp": "now"},
    ],
)
def test_garbage_inputs_give_nulls_not_a_crash(junk: Any) -> None:
    state = build_state(NOW, junk, junk, junk, junk, junk)
    for key in ("battery_soc", "pv_w", "grid_w", "pv_kwh", "mode", "health", "import_price"):
        assert state[key] is None, key
    json.loads(encode(state))


def test_prices_with_broken_intervals_are_skipped() -> None:
    broken = {"data": {"intervals": ["x", {"start": "a", "end": NOW + 60}, None]}}
    assert build_state(NOW, prices=broken)["import_price"] is None


def test_stale_telemetry_is_not_shown_as_live_but_its_totals_are() -> None:
    state = build_state(NOW, samples.telemetry(at=NOW - 3600), telemetry_max_age_s=900)
    assert state["battery_soc"] is None and state["pv_w"] is None and state["grid_w"] is None
    assert state["grid_import_kwh"] == 10482.4
    assert state["telemetry_at"] == "2025-04-09T16:10:00+00:00"


def test_soc_from_soc_pct_when_the_fraction_is_missing() -> None:
    telemetry = {**samples.telemetry(), "soc": None}
    assert build_state(NOW, telemetry)["battery_soc"] == 65.0


def test_an_energy_counter_at_zero_is_unknown_not_a_meter_reset() -> None:
    telemetry = samples.telemetry()
    telemetry["energy_kwh"] = {**telemetry["energy_kwh"], "grid_import": 0.0, "pv": -1.0}
    state = build_state(NOW, telemetry)
    assert state["grid_import_kwh"] is None and state["pv_kwh"] is None
    assert state["grid_export_kwh"] == 6120.9


def test_a_mode_or_health_ha_does_not_list_is_unknown() -> None:
    state = build_state(NOW, decision={"mode": "turbo", "level": "plan"}, health={"state": "meh"})
    assert state["mode"] is None and state["health"] is None
    assert state["level"] == "plan"


def test_a_long_reason_is_cut_to_what_ha_keeps() -> None:
    state = build_state(NOW, decision={**samples.decision(), "reason": "why " * 100})
    assert len(state["reason"]) == 255 and state["reason"].endswith("…")


def test_entity_states_for_the_select_number_and_switches() -> None:
    settings = samples.settings(loads=LOADS)
    override = {"mode": "force_discharge", "power_w": 3000, "until": NOW + 600, "set_at": NOW}
    states = entity_states(settings, NOW, override, 0.35, {"pool_pump": True, "spa": False})
    assert states == {
        "power_master/override/mode/state": "force_discharge",
        "power_master/config/reserve_soc/state": "35",
        # nothing chosen in HA yet: the SOC target's defaults, and no target set
        "power_master/target/soc/state": "80",
        "power_master/target/by/state": "16:00",
        "power_master/target/hard/state": "OFF",
        "power_master/target/active/state": "OFF",
        "power_master/load/pool_pump/state": "ON",
        "power_master/load/spa/state": "OFF",
    }


def test_the_soc_target_controls_show_the_choice_and_whether_it_is_set() -> None:
    settings = samples.settings()
    choice = {"soc": 0.95, "by": "07:30", "hard": True}
    set_from_ha = [{"id": "a1", "soc": 0.95, "at": NOW + 3600, "source": "mqtt"}]
    states = entity_states(settings, NOW, target_choice=choice, soc_targets=set_from_ha)
    assert states["power_master/target/soc/state"] == "95"
    assert states["power_master/target/by/state"] == "07:30"
    assert states["power_master/target/hard/state"] == "ON"
    assert states["power_master/target/active/state"] == "ON"
    from_the_api = [{**set_from_ha[0], "source": "api"}]
    for targets in (from_the_api, [{**set_from_ha[0], "at": NOW}], None):  # not HA's, or past
        states = entity_states(settings, NOW, target_choice=choice, soc_targets=targets)
        assert states["power_master/target/active/state"] == "OFF"


def test_an_expired_or_missing_override_reads_auto() -> None:
    settings = samples.settings()
    expired = {"mode": "force_charge", "power_w": 3000, "until": NOW - 1, "set_at": NOW - 3600}
    assert entity_states(settings, NOW, expired)["power_master/override/mode/state"] == "auto"
    assert entity_states(settings, NOW, None)["power_master/override/mode/state"] == "auto"
    junk = {"mode": "warp", "until": NOW + 60}
    assert entity_states(settings, NOW, junk)["power_master/override/mode/state"] == "auto"


def test_reserve_defaults_to_the_storm_setting_and_unknown_loads_say_none() -> None:
    settings = samples.settings(loads=LOADS, storm={"reserve_soc": 0.9})
    states = entity_states(settings, NOW, load_states={"pool_pump": None})
    assert states["power_master/config/reserve_soc/state"] == "90"
    assert states["power_master/load/pool_pump/state"] == "None"
    assert states["power_master/load/spa/state"] == "None"
    assert entity_states(samples.settings(), NOW)["power_master/config/reserve_soc/state"] == "80"

"""Each level of the hierarchy, by hand: who decides, what, and why in words."""

from __future__ import annotations

import pytest

from nodes.control import levels
from nodes.control.decision import Decision, inverter_command
from nodes.control.floors import floor_of
from nodes.control.situation import CRITICAL, STORM_CHARGE, Situation
from nodes.control.stability import StabilityState
from nodes.control.tick import Outcome, control_tick
from tests.nodes.control.situations import (
    WEDNESDAY_3PM,
    plan_slot,
    site,
    situation,
    storm_reserve,
)

NOW = WEDNESDAY_3PM
HOUR = 3600.0


def tick(sit: Situation) -> Outcome:
    """A tick with nothing in force, so anti-oscillation has no say."""
    return control_tick(sit, StabilityState())


def decide(sit: Situation) -> Decision:
    return tick(sit).decision


# -- safety -------------------------------------------------------------------------


def test_safety_hands_back_to_self_use_over_everything() -> None:
    storm = storm_reserve(0.8, NOW - HOUR, NOW + HOUR)
    override = {"mode": "force_discharge", "power_w": 3000, "until": NOW + HOUR}
    for telemetry in ({"grid_lost": True}, {"battery_temp_c": 58.0}, {"soc": None}):
        sit = situation(telemetry=telemetry, storm=storm, override=override)
        decision = decide(sit)
        assert (decision.level, decision.mode) == ("safety", "self_use")


def test_health_safety_hands_back_and_says_why() -> None:
    health = {"state": "safety", "reasons": ["modbus: 5 errors in a row"]}
    decision = decide(situation(health=health, plan=plan_slot(NOW, "force_charge")))
    assert (decision.level, decision.mode) == ("safety", "self_use")
    assert "modbus: 5 errors in a row" in decision.reason


def test_stale_telemetry_is_safety() -> None:
    sit = situation(telemetry={"timestamp": NOW - 3600})
    assert levels.safety(sit) is not None
    assert "old" in decide(sit).reason


# -- storm --------------------------------------------------------------------------


def test_storm_charges_from_the_grid_up_to_the_reserve_and_says_why() -> None:
    storm = storm_reserve(0.8, NOW - HOUR, NOW + 5 * HOUR)
    decision = decide(situation(telemetry={"soc": 0.6}, storm=storm))
    assert (decision.level, decision.mode, decision.battery_w) == ("storm", "force_charge", 5000)
    assert "storm reserve 80%" in decision.reason and "severe storm" in decision.reason
    assert "charging from the grid" in decision.reason and "until 20:00" in decision.reason


def test_storm_outside_its_window_or_disarmed_does_nothing() -> None:
    for storm in (
        storm_reserve(0.8, NOW + HOUR, NOW + 2 * HOUR),  # not yet
        storm_reserve(0.8, NOW - 2 * HOUR, NOW),  # over: end is exclusive
        storm_reserve(0.8, NOW - HOUR, NOW + HOUR, armed=False),
    ):
        sit = situation(telemetry={"soc": 0.6}, storm=storm)
        assert levels.storm(sit) is None
        assert decide(sit).level == "fallback"


def test_storm_charging_has_hysteresis() -> None:
    storm = storm_reserve(0.8, NOW - HOUR, NOW + HOUR)
    # Not charging yet: at the reserve is enough.
    assert levels.storm(situation(telemetry={"soc": 0.8}, storm=storm)) is None
    # Charging already: carries on to the reserve plus the hysteresis (0.02).
    charging = frozenset({STORM_CHARGE})
    assert levels.storm(situation(telemetry={"soc": 0.81}, storm=storm, latched=charging))
    assert levels.storm(situation(telemetry={"soc": 0.82}, storm=storm, latched=charging)) is None
    assert STORM_CHARGE in tick(situation(telemetry={"soc": 0.79}, storm=storm)).state.latched


def test_storm_reserve_holds_under_a_discharging_plan_and_the_command_carries_it() -> None:
    storm = storm_reserve(0.8, NOW - HOUR, NOW + HOUR)
    plan = plan_slot(NOW, "force_discharge", power_w=4000, battery_w=-4000)
    outcome = tick(situation(telemetry={"soc": 0.8}, storm=storm, plan=plan))
    assert (outcome.decision.level, outcome.decision.mode) == ("storm", "self_use")
    assert "force_discharge (plan: planned) would discharge below it" in outcome.decision.reason
    assert outcome.floor.min_soc == 0.8
    # Above the reserve the plan may discharge, at its power until it reaches the reserve
    # and no longer: the command ends by itself then (the inverter's watchdog).
    outcome = tick(situation(telemetry={"soc": 0.81}, storm=storm, plan=plan))
    assert outcome.decision.level == "plan"
    assert outcome.decision.target_w() == -4000
    seconds = 0.01 * 10.4 * 3.6e6 * 0.95 / 4000  # 1 % of 10.4 kWh, 95 % discharge efficiency
    assert outcome.decision.until == pytest.approx(NOW + seconds)
    assert "until the storm reserve 80%" in outcome.decision.reason
    command = inverter_command(outcome.decision, 0.0, outcome.floor.min_soc)
    assert command["until"] == pytest.approx(NOW + seconds)
    # With under half a minute to go (the BMS's finer reading: 80.25 %) it is capped
    # instead, so it cannot run through the reserve before a tick or two.
    close = {"soc": 0.81, "battery_energy_kwh": 0.8025 * 10.4}
    outcome = tick(situation(telemetry=close, storm=storm, plan=plan))
    assert outcome.decision.level == "plan"
    assert outcome.decision.battery_w is not None
    assert -outcome.decision.battery_w == pytest.approx(0.01 * 10.4e3 * 6)  # 1 % in 10 minutes
    assert "capped" in outcome.decision.reason
    assert outcome.decision.until is None


def test_storm_reserve_outranks_the_manual_override() -> None:
    storm = storm_reserve(0.8, NOW - HOUR, NOW + HOUR)
    override = {"mode": "force_discharge", "power_w": 5000, "until": NOW + HOUR}
    low = decide(situation(telemetry={"soc": 0.5}, storm=storm, override=override))
    assert (low.level, low.mode) == ("storm", "force_charge")
    at = decide(situation(telemetry={"soc": 0.8}, storm=storm, override=override))
    assert (at.level, at.mode) == ("storm", "self_use")


# -- critical -----------------------------------------------------------------------


def test_critical_soc_stops_discharging_with_hysteresis() -> None:
    plan = plan_slot(NOW, "force_discharge", power_w=3000, battery_w=-3000)
    backup = site(critical_soc=0.15)  # a floor kept above soc_min (0.10)
    at = tick(situation(settings=backup, telemetry={"soc": 0.15}, plan=plan))
    assert (at.decision.level, at.decision.mode) == ("critical", "self_use")
    assert "critical SOC floor 15%" in at.decision.reason
    assert CRITICAL in at.state.latched
    # Reached once: still held at 16 %, released above 17 %.
    latched = frozenset({CRITICAL})
    held = tick(situation(settings=backup, telemetry={"soc": 0.16}, plan=plan, latched=latched))
    assert held.decision.level == "critical"
    freed = tick(situation(settings=backup, telemetry={"soc": 0.18}, plan=plan, latched=latched))
    assert freed.decision.level == "plan" and freed.decision.target_w() < 0
    # Never reached: 16 % may discharge (capped so it does not run through 15 %).
    fresh = tick(situation(settings=backup, telemetry={"soc": 0.16}, plan=plan))
    assert fresh.decision.level == "plan" and fresh.decision.target_w() < 0


def test_a_discharge_sold_down_to_the_floor_runs_at_its_power_until_it_gets_there() -> None:
    # The default critical floor is soc_min (10 %); the hard limit keeps 2 % off it. A plan
    # that sells at 5 kW to the floor runs at 5 kW, not tapered to half, and ends by itself
    # at 12 % (the BMS's 0.01 kWh reading: 14.21 %), the inverter's watchdog set to then.
    plan = plan_slot(NOW, "force_discharge", power_w=5000, battery_w=-5000)
    reading = {"soc": 0.14, "battery_energy_kwh": 0.1421 * 10.4}
    outcome = tick(situation(telemetry=reading, plan=plan))
    assert (outcome.decision.level, outcome.decision.target_w()) == ("plan", -5000)
    seconds = (0.1421 - 0.12) * 10.4 * 3.6e6 * 0.95 / 5000
    assert outcome.decision.until == pytest.approx(NOW + seconds)
    assert 150 < seconds < 300  # before the next tick: it would have been capped to 2.5 kW
    # Farther than ten minutes from the floor, nothing is said: the next ticks decide.
    far = tick(situation(telemetry={"soc": 0.30}, plan=plan))
    assert far.decision.until is None and far.decision.target_w() == -5000
    # The end goes with the command; a self-use decision has none.
    assert inverter_command(outcome.decision, 0.0)["until"] == outcome.decision.until
    assert "until" not in inverter_command(far.decision, 0.0)


def test_critical_soc_lets_charging_through() -> None:
    plan = plan_slot(NOW, "force_charge", power_w=2000, battery_w=2000)
    decision = decide(situation(telemetry={"soc": 0.12}, plan=plan))
    assert (decision.level, decision.mode, decision.battery_w) == ("plan", "force_charge", 2000)


def test_critical_soc_is_configurable() -> None:
    plan = plan_slot(NOW, "force_discharge", power_w=3000, battery_w=-3000)
    sit = situation(settings=site(critical_soc=0.3), telemetry={"soc": 0.3}, plan=plan)
    assert decide(sit).level == "critical"
    assert floor_of(sit).min_soc == 0.3


# -- override -----------------------------------------------------------------------


def test_override_until_it_expires() -> None:
    override = {
        "mode": "force_charge",
        "power_w": 2500,
        "until": NOW + 1800,
        "set_at": NOW - 60,
        "source": "api",
        "reason": "guests tonight",
    }
    plan = plan_slot(NOW, "self_use")
    decision = decide(situation(override=override, plan=plan))
    assert (decision.level, decision.mode, decision.battery_w) == ("override", "force_charge", 2500)
    assert decision.reason == (
        "manual override from the API until 15:30: force_charge at 2500 W (guests tonight)"
    )
    expired = decide(
        situation(now=NOW + 1800, override=override, plan=plan_slot(NOW + 1800, "hold"))
    )
    assert expired.level == "plan"


def test_override_without_power_uses_full_power_and_nonsense_is_ignored() -> None:
    full = levels.override(situation(override={"mode": "force_discharge", "until": NOW + 60}))
    assert full is not None and full.power_w == 5000
    for nonsense in (
        {"mode": "turbo", "until": NOW + 60},
        {"mode": "force_charge", "until": "tomorrow"},
        {"mode": "force_charge"},
    ):
        assert levels.override(situation(override=nonsense)) is None


# -- schedule -----------------------------------------------------------------------


def test_schedule_rule_decides_with_its_export_limit() -> None:
    rules = [
        {
            "days": "weekdays",
            "from": "14:00",
            "to": "16:00",
            "mode": "force_charge",
            "power_w": 1500,
            "name": "afternoon top-up",
        },
        {"days": "all", "from": "00:00", "to": "24:00", "mode": "self_use", "export_limit_w": 0},
    ]
    sit = situation(settings=site(schedule=rules), plan=plan_slot(NOW, "force_discharge"))
    decision = decide(sit)
    assert (decision.level, decision.mode, decision.battery_w) == ("schedule", "force_charge", 1500)
    assert "afternoon top-up" in decision.reason and "mon,tue,wed,thu,fri" in decision.reason
    later = decide(situation(now=NOW + 2 * HOUR, settings=site(schedule=rules)))
    assert (later.level, later.mode) == ("schedule", "self_use_zero_export")


@pytest.mark.parametrize(
    ("firmware", "mode"), [("kh133", "self_use"), ("pre133", "self_use_zero_export")]
)
def test_a_self_use_export_limit_goes_to_the_inverter_or_becomes_zero_export(
    firmware: str, mode: str
) -> None:
    rules = [
        {"days": "all", "from": "00:00", "to": "00:00", "mode": "self_use", "export_limit_w": 1500}
    ]
    settings = site(schedule=rules)
    settings["inverter"]["firmware"] = firmware
    decision = decide(situation(settings=settings))
    assert (decision.level, decision.mode, decision.export_limit_w) == ("schedule", mode, 1500)
    payload = inverter_command(decision, 0.0)
    assert payload["export_limit_w"] == 1500  # kh133: 46616/46617 hold it in self-use
    if firmware == "pre133":  # no export-limit register: nothing exported, and why
        assert "before 1.33 cannot limit self-use export to 1500 W" in decision.reason


def test_a_limit_at_or_above_the_grids_leaves_pre133_self_use_alone() -> None:
    rules = [
        {"days": "all", "from": "00:00", "to": "00:00", "mode": "self_use", "export_limit_w": 5000}
    ]
    settings = site(schedule=rules)
    settings["inverter"]["firmware"] = "pre133"
    assert decide(situation(settings=settings)).mode == "self_use"


def test_schedule_caps_export_of_a_forced_discharge() -> None:
    rules = [
        {
            "days": ["wed"],
            "from": "15:00",
            "to": "15:30",
            "mode": "force_discharge",
            "power_w": 5000,
            "export_limit_w": 2000,
        }
    ]
    decision = decide(situation(settings=site(schedule=rules), telemetry={"load_w": 1000}))
    # 1 kW to the house and 2 kW to the grid, no more.
    assert decision.battery_w == -3000


def test_override_outranks_the_schedule() -> None:
    rules = [{"days": "all", "from": "00:00", "to": "00:00", "mode": "force_charge"}]
    override = {"mode": "self_use", "until": NOW + 60, "source": "mqtt"}
    decision = decide(situation(settings=site(schedule=rules), override=override))
    assert (decision.level, decision.mode) == ("override", "self_use")


# -- plan, opportunistic, fallback ----------------------------------------------------


def test_plan_then_fallback() -> None:
    plan = plan_slot(NOW, "force_charge", power_w=2000, battery_w=2000, reason="cheap before peak")
    decision = decide(situation(plan=plan))
    assert (decision.level, decision.mode, decision.reason) == (
        "plan",
        "force_charge",
        "cheap before peak",
    )
    assert decide(situation()).level == "fallback"


def prices(export_price: float) -> dict[str, object]:
    """A prices reading (docs/inputs.md) whose current interval pays ``export_price``."""
    interval = {
        "start": NOW - 300,
        "end": NOW + 1500,
        "import_price": 0.3,
        "export_price": export_price,
        "type": "current",
    }
    return {"kind": "prices", "data": {"intervals": [interval]}}


def test_opportunistic_sells_into_an_unforecast_spike_and_names_both_prices() -> None:
    plan = plan_slot(NOW, "self_use", export_price=0.08)
    sit = situation(plan=plan, prices=prices(1.50), cost_basis={"per_kwh": 0.12})
    decision = decide(sit)
    assert (decision.level, decision.mode) == ("opportunistic", "force_discharge")
    assert decision.battery_w == -5000
    assert "$1.50/kWh" in decision.reason and "$0.12/kWh" in decision.reason
    assert "expecting $0.08/kWh" in decision.reason


def test_opportunistic_holds_back() -> None:
    plan = plan_slot(NOW, "self_use", export_price=0.08)
    cheap = situation(plan=plan, prices=prices(0.13), cost_basis={"per_kwh": 0.12})
    assert decide(cheap).level == "plan"  # 0.13 is not above 0.12 + 0.02
    # 0.15 beats the default cost basis (0.10) + 0.02, but is no spike: the plan stands.
    assert decide(situation(plan=plan, prices=prices(0.15))).level == "plan"
    # A spike (0.50 and up) that beats both is sold into.
    assert decide(situation(plan=plan, prices=prices(0.60))).level == "opportunistic"
    # The plan already expected the price: its choice stands.
    foreseen = situation(plan=plan_slot(NOW, "self_use", export_price=1.5), prices=prices(1.5))
    assert decide(foreseen).level == "plan"
    # A forced plan decision is not second-guessed.
    charging = plan_slot(NOW, "force_charge", power_w=2000, export_price=0.08)
    assert decide(situation(plan=charging, prices=prices(1.5))).level == "plan"
    # Near the floors there is nothing to sell.
    backup = site(critical_soc=0.15)
    near = situation(settings=backup, plan=plan, prices=prices(1.5), telemetry={"soc": 0.16})
    assert decide(near).level == "plan"
    off = site(opportunistic={"enabled": False})
    assert decide(situation(settings=off, plan=plan, prices=prices(1.5))).level == "plan"


def test_opportunistic_sells_over_a_planned_discharge_into_the_house_only() -> None:
    # Plans name a discharge covering part of the load force_discharge (the battery does
    # discharge); it sells nothing, so a spike is still sold into, as over a hold.
    covering = plan_slot(NOW, "force_discharge", power_w=300, battery_w=-300, export_price=0.08)
    sit = situation(plan=covering, prices=prices(1.5), telemetry={"load_w": 800})
    assert (decide(sit).level, decide(sit).battery_w) == ("opportunistic", -5000)
    # A planned discharge that exports is a forced sale already: it stands.
    selling = plan_slot(NOW, "force_discharge", power_w=3000, battery_w=-3000, export_price=0.08)
    sit = situation(plan=selling, prices=prices(1.5), telemetry={"load_w": 800})
    assert decide(sit).level == "plan"


def test_opportunistic_needs_a_plan_to_have_missed_the_price() -> None:
    # Without a plan there is no forecast to beat: the start-up tick does not sell.
    assert decide(situation(prices=prices(0.5))).level == "fallback"
    # The plan's own price is the feed's when there is no feed: nothing unforeseen.
    assert decide(situation(plan=plan_slot(NOW, "self_use", export_price=1.5))).level == "plan"


# -- degraded -------------------------------------------------------------------------


def test_degraded_means_no_arbitrage() -> None:
    health = {"state": "degraded", "reasons": ["prices stale"]}
    plan = plan_slot(NOW, "self_use", export_price=0.08)
    # No opportunistic sale...
    assert decide(situation(plan=plan, prices=prices(1.5), health=health)).level == "plan"
    # ...and a discharge that would export becomes self-use, saying why.
    selling = plan_slot(NOW, "force_discharge", power_w=5000, battery_w=-5000)
    decision = decide(situation(plan=selling, health=health, telemetry={"load_w": 800}))
    assert (decision.level, decision.mode) == ("safety", "self_use")
    assert "no arbitrage" in decision.reason and "prices stale" in decision.reason
    # Discharging into the house only is not arbitrage.
    covering = plan_slot(NOW, "force_discharge", power_w=700, battery_w=-700)
    kept = decide(situation(plan=covering, health=health, telemetry={"load_w": 800}))
    assert (kept.level, kept.battery_w) == ("plan", -700)


def test_degraded_adds_a_soc_margin() -> None:
    health = {"state": "degraded"}
    plan = plan_slot(NOW, "force_charge", power_w=3000, battery_w=3000)
    # soc_max 1.0 - soc_margin 0.02 - degraded margin 0.05 = 0.93
    assert decide(situation(plan=plan, telemetry={"soc": 0.94}, health=health)).mode == "hold"
    assert decide(situation(plan=plan, telemetry={"soc": 0.94})).mode == "force_charge"


def test_opportunistic_spike_must_beat_what_the_stored_energy_cost() -> None:
    plan = plan_slot(NOW, "self_use", export_price=0.08)
    # Energy bought at $0.70/kWh (the ledger's basis) is not sold into a $0.60 spike...
    dear = situation(plan=plan, prices=prices(0.60), cost_basis={"per_kwh": 0.70})
    assert decide(dear).level == "plan"
    # ...but is into $0.75 (0.70 + the 0.02 break-even delta is beaten).
    assert (
        decide(situation(plan=plan, prices=prices(0.75), cost_basis={"per_kwh": 0.70})).level
        == "opportunistic"
    )
    # An empty battery's basis is published as None: the default (0.10) applies.
    empty = situation(plan=plan, prices=prices(0.60), cost_basis={"per_kwh": None})
    assert decide(empty).level == "opportunistic"

"""Whatever the plan, telemetry, override, schedule, storm and health say, the tick is safe.

(a) the command never breaks the hard limits; (b) an active storm reserve is never
discharged through and the command carries it to the inverter's own minimum SOC;
(c) over any run of ticks, no more mode changes per window than configured, and none
before the mode in force has had its minimum hold (safety, storm, critical excepted).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.control.decision import INVERTER_LED, MODES, inverter_command
from nodes.control.floors import active_reserve
from nodes.control.situation import CRITICAL, STORM_CHARGE, Situation
from nodes.control.stability import EXEMPT_LEVELS, StabilityState
from nodes.control.tick import control_tick
from tests.nodes.control.situations import WEDNESDAY_3PM, plan_slot, site, situation

NOW = WEDNESDAY_3PM
HOUR = 3600.0
TOLERANCE_W = 1e-6
#: min_soc goes to the inverter in whole percent, rounded up (from a millionth of one).
TOLERANCE_SOC = 1e-8

fractions = st.floats(min_value=0, max_value=1)
watts = st.floats(min_value=0, max_value=20000)
prices = st.floats(min_value=-0.5, max_value=3)
modes = st.sampled_from([*MODES, "turbo"])
offsets = st.floats(min_value=-6 * HOUR, max_value=6 * HOUR)


def rarely() -> st.SearchStrategy[bool]:
    """True one time in ten."""
    return st.integers(0, 9).map(lambda n: n == 0)


@st.composite
def sometimes(draw: st.DrawFn, usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """Mostly ``usual``; one draw in ten from ``odd`` (faults stay rare, so the levels
    below safety get their share of examples)."""
    return draw(odd) if draw(rarely()) else draw(usual)


@st.composite
def telemetry(draw: st.DrawFn) -> dict[str, Any]:
    soc = draw(sometimes(fractions, st.sampled_from([None, float("nan")])))
    finer: dict[str, Any] = {}
    if isinstance(soc, float) and soc == soc and draw(st.booleans()):
        # The BMS's remaining energy (the default 10.4 kWh), near the register's reading.
        offset = draw(st.floats(-0.015, 0.015))
        finer["battery_energy_kwh"] = max(0.0, soc + offset) * 10.4
    return {
        **finer,
        "soc": soc,
        "pv_w": draw(watts),
        "load_w": draw(watts),
        "grid_lost": draw(rarely()),
        "battery_temp_c": draw(sometimes(st.floats(5, 45), st.floats(-10, 60))),
        "inverter_temp_c": draw(sometimes(st.floats(20, 65), st.floats(20, 90))),
        "age": draw(sometimes(st.floats(0, 600), st.floats(0, 2000))),
    }


@st.composite
def plans(draw: st.DrawFn, now: float) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    battery = draw(st.one_of(st.none(), st.floats(-12000, 12000)))
    return plan_slot(
        now,
        draw(modes),
        power_w=draw(st.floats(0, 12000)),
        battery_w=battery,
        export_price=draw(prices),
    )


@st.composite
def overrides(draw: st.DrawFn, now: float) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    return {
        "mode": draw(modes),
        "power_w": draw(st.one_of(st.none(), st.floats(0, 12000))),
        "until": now + draw(offsets),
        "source": "api",
    }


@st.composite
def storms(draw: st.DrawFn, now: float) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    start = now + draw(sometimes(st.floats(-6 * HOUR, 0), offsets))  # mostly under way
    return {
        "armed": not draw(rarely()),
        "soc": draw(fractions),
        "start": start,
        "end": start + draw(st.floats(0, 12 * HOUR)),
        "reason": "storm",
    }


times = st.sampled_from(["00:00", "06:00", "14:30", "15:00", "21:00", "24:00"])
rules = st.fixed_dictionaries(
    {
        "days": st.sampled_from(["all", "weekdays", "weekends", ["wed"], ["thu", "sun"]]),
        "from": times,
        "to": times,
        "mode": modes.filter(lambda m: m != "turbo"),
    },
    optional={"power_w": st.floats(0, 12000), "export_limit_w": st.floats(0, 8000)},
)


@st.composite
def site_settings(draw: st.DrawFn) -> dict[str, Any]:
    soc_min = draw(st.floats(0.0, 0.3))
    settings = site(
        schedule=draw(st.lists(rules, max_size=3)),
        critical_soc=draw(st.floats(0.0, 0.5)),
        min_hold=draw(st.sampled_from(["10m", 0, {"force_discharge": "30m"}])),
        max_mode_changes=draw(st.integers(1, 6)),
    )
    settings["battery"].update(
        soc_min=soc_min,
        soc_max=draw(st.floats(soc_min + 0.2, 1.0)),
        max_charge_w=draw(st.floats(1000, 10000)),
        max_discharge_w=draw(st.floats(1000, 10000)),
    )
    settings["grid"].update(max_import_w=draw(st.floats(0, 20000)), max_export_w=draw(watts))
    return settings


@st.composite
def situations(draw: st.DrawFn, now: float = NOW, config: Any = None) -> Situation:
    values = draw(telemetry())
    age = values.pop("age")
    return situation(
        now=now,
        settings=config if config is not None else draw(site_settings()),
        latched=frozenset(draw(st.sets(st.sampled_from([CRITICAL, STORM_CHARGE])))),
        telemetry={**values, "timestamp": now - age},
        plan=draw(plans(now)),
        override=draw(overrides(now)),
        storm=draw(storms(now)),
        health=draw(
            sometimes(
                st.sampled_from([None, {"state": "ok"}, {"state": "degraded"}]),
                st.just({"state": "safety", "reasons": ["modbus"]}),
            )
        ),
        prices={
            "data": {
                "intervals": [{"start": now - 300, "end": now + 1500, "export_price": draw(prices)}]
            }
        },
        cost_basis=draw(
            st.one_of(st.none(), st.fixed_dictionaries({"per_kwh": st.floats(0, 0.5)}))
        ),
    )


@st.composite
def states(draw: st.DrawFn, now: float = NOW) -> StabilityState:
    if draw(st.booleans()):
        return StabilityState()
    mode = draw(st.sampled_from(MODES))
    since = now - draw(st.floats(0, 2 * HOUR))
    decision = {
        "mode": mode,
        "power_w": draw(st.floats(0, 12000)),
        "battery_w": draw(st.one_of(st.none(), st.floats(-12000, 12000))),
    }
    return StabilityState(mode, since, (since,), decision)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sit=situations(), state=states())
def test_the_command_never_breaks_the_hard_limits(sit: Situation, state: StabilityState) -> None:
    outcome = control_tick(sit, state)
    decision = outcome.decision
    assert decision.mode in MODES
    battery, grid = sit.settings["battery"], sit.settings["grid"]
    command = inverter_command(decision, sit.pv_w, outcome.floor.min_soc)
    assert battery["soc_min"] - TOLERANCE_SOC <= command["min_soc"] <= 1.0
    if decision.mode in INVERTER_LED:
        assert "setpoint_w" not in command
        return
    soc, pv, load = sit.soc, sit.pv_w, sit.load_w
    # Degraded health keeps an extra margin (control.degraded_soc_margin) on both ends.
    margin = sit.settings["control"]["soc_margin"] + (
        sit.options.degraded_soc_margin if sit.degraded else 0.0
    )
    top, bottom = battery["soc_max"] - margin, battery["soc_min"] + margin
    target = decision.target_w()
    assert -battery["max_discharge_w"] - TOLERANCE_W <= target
    assert target <= battery["max_charge_w"] + TOLERANCE_W
    if target > 0:
        assert soc < top
    if target < 0:
        assert soc > max(bottom, outcome.floor.soc)
    if decision.until is not None:
        # A discharge with an end stays above the floors at its power until then.
        seconds = decision.until - sit.now
        assert target < 0 and 0 < seconds < 600
        drained = -target / battery["discharge_efficiency"] * seconds / (10.4 * 3.6e6)
        assert sit.fine_soc - drained >= max(bottom, outcome.floor.soc) - 1e-9
        assert command["until"] == decision.until
    assert abs((pv - command["setpoint_w"]) - target) <= 1.0
    # The grid stays inside its limits wherever the battery could keep it there.
    can_give = battery["max_discharge_w"] if soc > max(bottom, outcome.floor.soc) else 0.0
    if load - pv - can_give <= grid["max_import_w"]:
        assert load - pv + target <= grid["max_import_w"] + TOLERANCE_W
    can_take = battery["max_charge_w"] if soc < top else 0.0
    if pv - load - can_take <= grid["max_export_w"]:
        assert pv - load - target <= grid["max_export_w"] + TOLERANCE_W


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sit=situations(), state=states())
def test_an_active_storm_reserve_is_held(sit: Situation, state: StabilityState) -> None:
    reserve = active_reserve(sit.storm, sit.now)
    outcome = control_tick(sit, state)
    if reserve is None:
        return
    assert outcome.floor.min_soc >= reserve.soc
    command = inverter_command(outcome.decision, sit.pv_w, outcome.floor.min_soc)
    assert command["min_soc"] >= reserve.soc - TOLERANCE_SOC
    if outcome.decision.target_w() < 0:
        assert sit.soc > reserve.soc


@st.composite
def runs(draw: st.DrawFn) -> list[Situation]:
    """A run of ticks 1 s to 15 min apart on one site; everything else changes at random."""
    config = draw(site_settings())
    now, ticks = NOW, []
    for _ in range(draw(st.integers(2, 40))):
        now += draw(st.floats(1, 900))
        ticks.append(draw(situations(now=now, config=config)))
    return ticks


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(ticks=runs())
def test_mode_changes_stay_within_the_hold_and_the_window(ticks: list[Situation]) -> None:
    options = ticks[0].options
    window = options.mode_change_window_s
    state = StabilityState()
    changes: list[tuple[float, str, str]] = []  # when, to which mode, by which level
    for sit in ticks:
        previous = state.mode
        state = StabilityState.from_dict(json.loads(json.dumps(state.as_dict())))  # a restart
        outcome = control_tick(Situation(**{**sit.__dict__, "latched": state.latched}), state)
        state = outcome.state
        if outcome.decision.mode != previous:
            changes.append((sit.now, outcome.decision.mode, outcome.decision.level))
    for i, (when, _, level) in enumerate(changes):
        if level in EXEMPT_LEVELS or i == 0:
            continue
        before, mode_before, _ = changes[i - 1]
        assert when - before >= options.min_hold_for(mode_before)
        in_window = [
            t for t, _, lv in changes[: i + 1] if when - window < t and lv not in EXEMPT_LEVELS
        ]
        assert len(in_window) <= options.max_mode_changes

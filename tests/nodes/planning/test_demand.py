"""Demand charges ($ per kW of the cycle's peak import in a window): hand-checkable 6-slot
plans, and the rules of planner.demand_charges.

The plans: half-hour slots, a 3 kW load flat, no PV, a flat 30c import price, a 10 kWh
battery charging and discharging at 5 kW with no losses and no wear, at 30 % SOC (2 kWh
above its 10 % floor). The window is slots 2..5 (4 slots, 6 kWh of load)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine.database import open_database
from flowengine.errors import InvalidFlows
from nodes.history import record_sample
from nodes.history.store import sample_values
from nodes.planning import PlanInputs, solve_plan
from nodes.planning.demand import charge_problems, cycle_peaks, demand_charges, parse_charge
from nodes.planning.formulation import build_model
from nodes.planning.inputs import DemandCharge
from nodes.planning.plan import plan_inputs
from nodes.planning.result import Plan
from powermaster.config import load_site_config, merge_defaults
from tests.nodes.planning.small import T0, small_inputs

ADELAIDE = ZoneInfo("Australia/Adelaide")
WINDOW = (2, 3, 4, 5)


def make(charges: list[DemandCharge], n: int = 6, **opts: Any) -> PlanInputs:
    return small_inputs([0.30] * n, 3000.0, 0.3, demand_charges=charges, **opts)


def imports_kw(plan: Plan) -> list[float]:
    return [round(s.grid_import_w / 1000, 4) for s in plan.slots]


def test_a_high_price_shaves_the_peak_flat_at_the_lowest_it_can_be() -> None:
    # No grid charging: the battery's 2 kWh covers 2 of the window's 6 kWh, so 4 kWh is
    # imported over its 2 hours: 2 kW flat is the lowest peak there is.
    plan = solve_plan(make([DemandCharge(10.0, WINDOW, name="peak")], allow_grid_charge=False))
    assert imports_kw(plan)[2:] == [2.0] * 4
    assert imports_kw(plan)[:2] == [3.0, 3.0]  # before the window: nothing to shave
    (result,) = plan.demand
    assert result.to_dict() == {
        "name": "peak",
        "price_per_kw": 10.0,
        "peak_so_far_kw": 0.0,
        "planned_peak_kw": pytest.approx(2.0),
        "added_cost": pytest.approx(20.0),
        "peak_source": "config",
    }


def test_without_the_charge_the_same_battery_leaves_a_3_kw_peak() -> None:
    plan = solve_plan(make([], allow_grid_charge=False))
    assert max(imports_kw(plan)[2:]) == 3.0
    assert plan.demand == []


def test_slots_outside_the_window_are_not_capped() -> None:
    # Grid charging allowed: the 4 kWh the window lacks is bought in slots 0-1 (same
    # price, no losses), so the window imports nothing and slots 0-1 import 3 + 4 kW.
    plan = solve_plan(make([DemandCharge(10.0, WINDOW)]))
    assert imports_kw(plan)[2:] == [0.0] * 4
    assert sum(imports_kw(plan)[:2]) == pytest.approx(14.0)
    assert max(imports_kw(plan)[:2]) > 3.0
    assert plan.demand[0].planned_peak_kw == 0.0 and plan.demand[0].added_cost == 0.0


def test_a_peak_so_far_above_the_load_changes_nothing() -> None:
    base = solve_plan(make([], allow_grid_charge=False))
    plan = solve_plan(make([DemandCharge(10.0, WINDOW, 4.0)], allow_grid_charge=False))
    assert plan.objective == pytest.approx(base.objective)
    assert imports_kw(plan) == imports_kw(base)
    (result,) = plan.demand
    assert result.peak_so_far_kw == 4.0 and result.added_cost == 0.0
    assert result.planned_peak_kw == 3.0


def test_a_peak_so_far_only_charges_for_the_import_above_it() -> None:
    # At 2.5 kW so far, shaving to 2 kW saves nothing more: 2.5 kW is where it stops
    # being paid for, and the plan adds nothing to the bill.
    plan = solve_plan(make([DemandCharge(10.0, WINDOW, 2.5)], allow_grid_charge=False))
    assert max(imports_kw(plan)[2:]) <= 2.5 + 1e-6
    assert plan.demand[0].added_cost == pytest.approx(0.0, abs=1e-6)


def test_a_charge_adds_one_column_and_a_row_per_window_slot_and_no_binary() -> None:
    base = build_model(make([])).lm
    lm = build_model(make([DemandCharge(1.0, WINDOW), DemandCharge(2.0, (0,))])).lm
    assert lm.n_cols == base.n_cols + 2
    assert lm.n_rows == base.n_rows + 5
    assert sum(lm.integer) == sum(base.integer)
    assert lm.names[: base.n_cols] == base.names
    assert lm.row_names[: base.n_rows] == base.row_names


def test_a_charge_with_no_slot_in_the_horizon_leaves_the_model_as_it_was() -> None:
    a, b = build_model(make([])).lm, build_model(make([DemandCharge(5.0, ())])).lm
    assert (a.names, a.row_names, a.cost, a.row_value) == (
        b.names,
        b.row_names,
        b.cost,
        b.row_value,
    )
    plan = solve_plan(make([DemandCharge(5.0, ())]))
    assert plan.demand[0].planned_peak_kw == 0.0


def test_a_charge_beyond_the_horizon_is_refused_by_the_inputs() -> None:
    with pytest.raises(ValueError, match="beyond horizon"):
        make([DemandCharge(1.0, (6,))])
    with pytest.raises(ValueError, match=">= 0"):
        DemandCharge(-1.0, (0,))


# --- rules over a horizon, in the site's zone -------------------------------------------------


def starts(n: int = 48) -> list[datetime]:
    """Half-hour slots from Friday 2026-01-09 12:00 in Adelaide."""
    first = datetime(2026, 1, 9, 12, 0, tzinfo=ADELAIDE)
    return [(first + timedelta(minutes=30 * i)).astimezone(UTC) for i in range(n)]


def settings(*rules: dict[str, Any]) -> dict[str, Any]:
    return merge_defaults(
        {"site": {"timezone": "Australia/Adelaide"}, "planner": {"demand_charges": list(rules)}}
    )


def test_a_window_is_the_slots_starting_in_it_on_its_days_in_the_site_zone() -> None:
    (charge,) = demand_charges(
        settings({"price_per_kw": 0.5, "from": "16:00", "to": "18:00", "days": "weekdays"}),
        starts(),
    )
    assert charge.slots == (8, 9, 10, 11)  # Friday 16:00-18:00; Saturday is not a weekday
    assert charge.name == "$0.5/kW 16:00-18:00"
    daily = {"price_per_kw": 0.5, "from": "16:00", "to": "17:00"}
    assert demand_charges(settings(daily), starts(64))[0].slots == (8, 9, 56, 57)
    whole = {"price_per_kw": 0.5, "from": "00:00", "to": "24:00", "days": "sat"}
    assert demand_charges(settings(whole), starts(64))[0].slots == tuple(range(24, 64))


def test_an_overnight_window_belongs_to_the_day_it_starts() -> None:
    rule = {"price_per_kw": 1, "from": "23:00", "to": "01:00", "days": "fri", "name": "night"}
    (charge,) = demand_charges(settings(rule), starts())
    assert charge.slots == (22, 23, 24, 25)  # Fri 23:00 .. Sat 00:30
    assert charge.name == "night"
    assert parse_charge({**rule, "peak_so_far_kw": 2}).peak_so_far_kw == 2.0


def test_plan_inputs_reads_the_charges_and_the_plan_dict_round_trips_them() -> None:
    n = 8
    forecast = {
        "start": datetime(2026, 1, 9, 12, 0, tzinfo=ADELAIDE).timestamp(),
        "slot_seconds": 1800,
        "import_price": [0.3] * n,
        "export_price": [0.0] * n,
        "pv_w": [0.0] * n,
        "load_w": [3000.0] * n,
    }
    rule = {"price_per_kw": 2.0, "from": "13:00", "to": "14:00", "name": "midday"}
    inp = plan_inputs(settings(rule), forecast, 0.5)
    assert [(c.slots, c.name) for c in inp.demand_charges] == [((2, 3), "midday")]
    plan = solve_plan(inp)
    assert Plan.from_dict(plan.to_dict()).demand == plan.demand
    assert Plan.from_dict({**plan.to_dict(), "demand": []}).demand == []
    assert list(plan_inputs(settings(), forecast, 0.5).demand_charges) == []


# --- the config's checks: located, in words ---------------------------------------------------


def site_file(tmp_path: Path, rules: str) -> Path:
    site = tmp_path / "site.yaml"
    site.write_text(f"site: {{timezone: Australia/Adelaide}}\nplanner:\n  demand_charges:\n{rules}")
    return site


def test_a_good_config_loads(tmp_path: Path) -> None:
    config = load_site_config(
        site_file(
            tmp_path,
            '    - {price_per_kw: 0.5, from: "16:00", to: "21:00", days: weekdays}\n'
            '    - {price_per_kw: 0.2, from: "22:00", to: "06:00", name: n, peak_so_far_kw: 3}\n',
        )
    )
    assert len(config["planner"]["demand_charges"]) == 2


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            '{price_per_kw: 0.5, from: "16:00", to: "16:00"}',
            "'planner.demand_charges.0.to': the window from 16:00 to 16:00 is empty",
        ),
        (
            '{price_per_kw: -1, from: "16:00", to: "17:00"}',
            "'planner.demand_charges.0.price_per_kw'",
        ),
        ('{price_per_kw: 1, from: "16:00"}', "missing key 'to' in 'planner.demand_charges.0'"),
        (
            '{price_per_kw: 1, from: "16:00", to: "17:00", days: weekday}',
            "did you mean 'weekdays'?",
        ),
        ('{price_per_kw: 1, from: "4pm", to: "17:00"}', "'planner.demand_charges.0.from'"),
        ('{price_per_kw: 1, from: "16:00", to: "17:00", at: 1}', "unknown key 'at'"),
    ],
)
def test_a_bad_rule_is_located_and_said(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(site_file(tmp_path, f"    - {rule}\n"))
    (problem,) = caught.value.problems
    assert problem.line == 4
    assert message in problem.message


def test_charge_problems_name_the_key_at_fault() -> None:
    problems = charge_problems(
        [
            {"price_per_kw": 1, "from": "00:00", "to": "24:00"},
            {"price_per_kw": 1, "from": "07:00", "to": "07:00"},
        ]
    )
    assert [str(p) for p in problems] == [
        "'planner.demand_charges.1.to': the window from 07:00 to 07:00 is empty; for the "
        'whole day write from: "00:00", to: "24:00"'
    ]


# The peak so far from the site's own records: a real WAL file written by history.record's
# store. The site is in Adelaide, billing cycles start on the 1st, the window is
# 16:00-21:00 every day, the config says 2 kW, and now is 15 January, noon.
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=ADELAIDE).timestamp()
PEAK_RULE = {"price_per_kw": 10.0, "from": "16:00", "to": "21:00", "peak_so_far_kw": 2.0}


def site(**planner: Any) -> dict[str, Any]:
    return {
        "site": {"timezone": "Australia/Adelaide"},
        "billing": {"start_day": 1},
        "planner": {"demand_charges": [PEAK_RULE], **planner},
    }


@pytest.fixture
def site_db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    yield conn
    conn.close()


def import_for_half_an_hour(db: sqlite3.Connection, local: datetime, grid_w: float) -> None:
    """Samples every 10 minutes of the half hour from ``local``, importing ``grid_w``."""
    for minute in (0, 10, 20):
        at = (local + timedelta(minutes=minute)).timestamp()
        payload = {"pv_w": 0.0, "battery_w": 0.0, "grid_w": grid_w, "soc": 0.5}
        assert record_sample(db, at, sample_values(payload), zone=ADELAIDE)


def test_a_recorded_import_in_the_window_this_cycle_raises_the_peak_so_far(
    site_db: sqlite3.Connection,
) -> None:
    import_for_half_an_hour(site_db, datetime(2026, 1, 6, 18, 0, tzinfo=ADELAIDE), 4200.0)
    import_for_half_an_hour(site_db, datetime(2026, 1, 7, 19, 0, tzinfo=ADELAIDE), 1500.0)
    assert cycle_peaks(site_db, site(), NOW) == [pytest.approx(4.2)]
    (charge,) = demand_charges(site(), [T0], cycle_peaks(site_db, site(), NOW))
    assert charge.peak_so_far_kw == pytest.approx(4.2)
    assert charge.peak_source == "history"


def test_imports_outside_the_window_or_before_the_cycle_leave_the_config_peak(
    site_db: sqlite3.Connection,
) -> None:
    import_for_half_an_hour(site_db, datetime(2026, 1, 6, 12, 0, tzinfo=ADELAIDE), 6000.0)
    import_for_half_an_hour(site_db, datetime(2026, 1, 6, 21, 0, tzinfo=ADELAIDE), 6000.0)
    import_for_half_an_hour(site_db, datetime(2025, 12, 31, 18, 0, tzinfo=ADELAIDE), 7000.0)
    assert cycle_peaks(site_db, site(), NOW) == [None]
    (charge,) = demand_charges(site(), [T0], cycle_peaks(site_db, site(), NOW))
    assert (charge.peak_so_far_kw, charge.peak_source) == (2.0, "config")


def test_a_recorded_peak_below_the_configured_one_leaves_the_config_peak(
    site_db: sqlite3.Connection,
) -> None:
    import_for_half_an_hour(site_db, datetime(2026, 1, 6, 18, 0, tzinfo=ADELAIDE), 1200.0)
    assert cycle_peaks(site_db, site(), NOW) == [pytest.approx(1.2)]
    (charge,) = demand_charges(site(), [T0], cycle_peaks(site_db, site(), NOW))
    assert (charge.peak_so_far_kw, charge.peak_source) == (2.0, "config")


def test_a_database_without_history_gives_no_recorded_peak(site_db: sqlite3.Connection) -> None:
    assert cycle_peaks(site_db, site(), NOW) == [None]


def test_the_plan_reports_the_recorded_peak_and_its_source(site_db: sqlite3.Connection) -> None:
    import_for_half_an_hour(site_db, datetime(2026, 1, 6, 18, 0, tzinfo=ADELAIDE), 4200.0)
    settings = merge_defaults(site())
    start = datetime(2026, 1, 15, 18, 0, tzinfo=ADELAIDE).timestamp()
    n = 4
    forecast = {
        "start": start,
        "slot_seconds": 1800,
        "import_price": [0.30] * n,
        "export_price": [0.0] * n,
        "pv_w": [0.0] * n,
        "load_w": [3000.0] * n,
    }
    inputs = plan_inputs(
        settings, forecast, 0.5, recorded_peaks=cycle_peaks(site_db, settings, NOW)
    )
    (result,) = solve_plan(inputs).to_dict()["demand"]
    assert result["peak_so_far_kw"] == pytest.approx(4.2)
    assert result["peak_source"] == "history"
    assert result["added_cost"] == pytest.approx(0.0)  # a 3 kW load stays under 4.2 kW

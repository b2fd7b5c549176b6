"""SOC targets by a time: hand-checkable 4-8 slot plans, and the rules of planner.soc_targets.

The plans: half-hour slots, a 10 kWh battery charging at 5 kW (2.5 kWh a slot) with no
losses, no PV and no load, so every kWh in the battery was bought in a slot you can name.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine.errors import InvalidFlows
from nodes.planning import PlanInputs, solve_plan
from nodes.planning.formulation import build_model
from nodes.planning.inputs import HARD_SHORTFALL_PRICE, SocTarget
from nodes.planning.plan import plan_inputs
from nodes.planning.result import Plan
from nodes.planning.targets import (
    expired,
    lapsed_problems,
    one_off_rule,
    parse_rule,
    rule_problems,
    slot_targets,
    soc_targets,
)
from powermaster import settings as site_settings
from powermaster.config import load_site_config, merge_defaults
from tests.nodes.planning.small import T0, small_inputs

ADELAIDE = ZoneInfo("Australia/Adelaide")  # +10:30 in summer, +9:30 in winter
EPS = 1e-6


def make(
    imp: list[float],
    targets: list[SocTarget],
    soc_now: float = 0.2,
    **opts: Any,
) -> PlanInputs:
    return small_inputs(imp, 0.0, soc_now, targets=targets, **opts)


def socs(plan: Plan) -> list[float]:
    return [round(s.soc_end, 6) for s in plan.slots]


# --- the model ------------------------------------------------------------------------------


def test_a_target_is_reached_at_its_slot_and_no_earlier_than_the_prices_say() -> None:
    # 20 % -> 60 % by the end of slot 3 is 4 kWh: 1.6 slots of 2.5 kWh. Dearer early, so
    # the plan buys it in the last two slots before the target, the cheapest one full.
    plan = solve_plan(make([0.30, 0.29, 0.28, 0.27, 0.40, 0.40], [SocTarget(3, 0.6)]))
    assert socs(plan)[:4] == [0.2, 0.2, 0.35, 0.6]
    assert [s.mode for s in plan.slots[:4]] == ["self_use", "self_use", *["force_charge"] * 2]
    assert plan.slots[3].battery_charge_w == pytest.approx(5000)
    assert plan.slots[2].battery_charge_w == pytest.approx(3000)
    (target,) = plan.targets
    assert (target.slot, target.soc, target.hard) == (3, 0.6, False)
    assert target.reached == pytest.approx(0.6)
    assert target.shortfall_kwh == 0 and target.met
    assert target.by == T0 + timedelta(hours=2)  # slot 3's end when no time was given
    assert plan.slots[3].reason == "charge from grid at 27.0c: for the 60% target at 02:00"
    assert plan.slots[2].reason == "charge from grid at 28.0c: for the 60% target at 02:00"


def test_flat_prices_reach_the_target_exactly() -> None:
    plan = solve_plan(make([0.30] * 6, [SocTarget(3, 0.6)]))
    assert socs(plan)[3] == 0.6  # not more: nothing else pays for the energy
    assert max(socs(plan)) == pytest.approx(0.6)
    assert sum(s.battery_charge_w for s in plan.slots) / 1000 * 0.5 == pytest.approx(4.0)


def test_without_a_target_nothing_is_bought() -> None:
    plan = solve_plan(make([0.30, 0.29, 0.28, 0.27, 0.40, 0.40], []))
    assert socs(plan) == [0.2] * 6
    assert plan.targets == []


def test_an_impossible_hard_target_solves_and_reports_its_shortfall() -> None:
    # 20 % -> 90 % by the end of slot 1: two slots of 2.5 kWh reach 70 %, 2 kWh short.
    plan = solve_plan(make([0.30] * 4, [SocTarget(1, 0.9, hard=True)]))
    assert socs(plan)[:2] == [0.45, 0.7]
    (target,) = plan.targets
    assert target.hard and not target.met
    assert target.reached == pytest.approx(0.7)
    assert target.shortfall_kwh == pytest.approx(2.0)
    assert target.shortfall_price == HARD_SHORTFALL_PRICE
    assert plan.slots[0].reason == (
        "charge from grid at 30.0c: for the 90% target at 01:00, 2.0 kWh short"
    )
    assert plan.to_dict()["targets"][0]["shortfall_kwh"] == pytest.approx(2.0)


def test_a_hard_target_is_met_at_any_price() -> None:
    plan = solve_plan(make([5.00] * 4, [SocTarget(3, 0.6, hard=True)]))
    assert socs(plan)[3] == 0.6 and plan.targets[0].met


def test_a_soft_target_is_a_price_the_plan_may_pay() -> None:
    # Each kWh short costs 10c, each kWh bought $1: the plan stays short by all 4 kWh.
    cheap = SocTarget(3, 0.6, shortfall_price=0.10)
    plan = solve_plan(make([1.00] * 4, [cheap]))
    assert socs(plan) == [0.2] * 4
    assert plan.targets[0].shortfall_kwh == pytest.approx(4.0)
    assert not plan.targets[0].met
    assert plan.objective == pytest.approx(4.0 * 0.10 - 0.01 * 2.0)  # less 2 kWh kept, at 1c
    # At $2 a kWh short it buys the 4 kWh at $1.
    plan = solve_plan(make([1.00] * 4, [replace(cheap, shortfall_price=2.0)]))
    assert socs(plan)[3] == 0.6 and plan.targets[0].met


def test_a_target_holds_the_battery_back_from_a_sale() -> None:
    # 60 % now and a 50c export in slot 1, but 60 % wanted at the end of slot 2 (hard):
    # the battery holds instead of selling what it would have to buy back at 30c.
    inp = make([0.30] * 4, [SocTarget(2, 0.6, hard=True)], soc_now=0.6)
    inp = replace(inp, export_price=[0.0, 0.50, 0.0, 0.0])
    plan = solve_plan(inp)
    assert socs(plan)[2] == 0.6
    # Selling 2.5 kWh at 50c and buying it back at 30c before slot 2 ends still pays.
    assert plan.slots[1].mode == "force_discharge"
    assert plan.slots[2].reason == "charge from grid at 30.0c: for the 60% target at 01:30"


def test_a_target_below_the_soc_now_keeps_the_energy_for_it() -> None:
    # 80 % now, a 4 kW load in dear slot 1, and 70 % wanted by its end: the battery gives
    # the load 1 kWh of the 2 kWh self-use would, and keeps the rest for the target.
    inp = make([0.61, 0.60, 0.30, 0.30], [SocTarget(1, 0.7, hard=True)], soc_now=0.8)
    inp = replace(inp, load_w=[0.0, 4000.0, 0.0, 0.0])
    plan = solve_plan(inp)
    assert socs(plan)[:2] == [0.8, 0.7]
    assert plan.slots[1].battery_discharge_w == pytest.approx(2000)
    assert plan.slots[1].reason == (
        "discharge 2000 W, import the rest of the load at 60.0c: "
        "keep 6.0 kWh for the 70% target at 01:00"  # 70 % less the 10 % floor
    )


def test_energy_kept_for_a_peak_is_not_named_for_a_later_target() -> None:
    # A user trial: full (9 kWh above the floor) at 16:00 on Tuesday, a 31c peak at
    # 17:00-18:30 (2.5 kWh a slot, then 1 kWh at 25c), and 90 % (8 kWh) wanted by 07:00 on
    # Wednesday, which the 10c slots at 05:00-06:30 meet. The afternoon's 8c load is not
    # worth energy refilled at 10c, so the battery holds; the peak leaves 0.5 kWh, still
    # there at 07:00, but the 8.5 kWh kept go to the peak first: the reason names the
    # peak, not the target (it said "keep 0.50 kWh for the 90% target at Wed 07:00").
    # The 7.5 kWh bought at 10c are all still there at 07:00: those are for the target.
    start = datetime(2026, 1, 6, 16, 0, tzinfo=UTC)  # a Tuesday
    n = 30  # 16:00 .. 06:30, the target's slot, the last
    starts = [start + timedelta(minutes=30 * t) for t in range(n)]
    imp = [0.08, 0.08, 0.31, 0.31, 0.31, 0.25] + [0.15] * 20 + [0.10] * 3 + [0.15]
    load = [2000.0, 2000.0, 5000.0, 5000.0, 5000.0, 2000.0] + [0.0] * 24
    by = datetime(2026, 1, 7, 7, 0, tzinfo=UTC)
    inp = make(imp, [SocTarget(n - 1, 0.9, by=by)], soc_now=1.0)
    inp = replace(inp, slot_starts=starts, load_w=load)
    plan = solve_plan(inp)
    assert socs(plan)[:6] == [1.0, 1.0, 0.75, 0.5, 0.25, 0.15]
    assert socs(plan)[25:] == [0.15, 0.4, 0.65, 0.9, 0.9]
    assert plan.targets[0].met
    for s in plan.slots[:2]:
        assert (s.mode, s.reason) == ("hold", "hold: keep 8.5 kWh for the 31.0c peak at 17:00")
    for s in plan.slots[26:29]:
        assert s.mode == "force_charge"
        assert s.reason == "charge from grid at 10.0c: for the 90% target at 07:00"


def test_targets_add_a_column_and_a_row_each_and_no_binary() -> None:
    base = build_model(make([0.30] * 6, [])).lm
    with_targets = build_model(make([0.30] * 6, [SocTarget(1, 0.5), SocTarget(4, 0.9)])).lm
    assert with_targets.n_cols == base.n_cols + 2
    assert with_targets.n_rows == base.n_rows + 2
    assert sum(with_targets.integer) == sum(base.integer)
    assert with_targets.names[: base.n_cols] == base.names
    assert with_targets.row_names[: base.n_rows] == base.row_names


def test_a_target_beyond_the_horizon_is_refused_by_the_inputs() -> None:
    with pytest.raises(ValueError, match="beyond horizon"):
        make([0.30] * 4, [SocTarget(4, 0.5)])


# --- rules over a horizon, in the site's zone -------------------------------------------------


def adelaide_horizon(n: int = 48) -> list[datetime]:
    """Half-hour slots from Friday 2026-01-09 17:00 in Adelaide (+10:30)."""
    start = datetime(2026, 1, 9, 17, 0, tzinfo=ADELAIDE).astimezone(UTC)
    return [start + timedelta(minutes=30 * i) for i in range(n)]


def targets_of(raw: dict[str, Any], n: int = 48) -> list[SocTarget]:
    return slot_targets([parse_rule(raw)], adelaide_horizon(n), 0.5, ADELAIDE)


def test_a_time_passed_today_applies_tomorrow_when_its_days_say_so() -> None:
    # 17:00 Friday: today's 16:00 is past. Saturday 16:00 is the end of slot 45.
    (target,) = targets_of({"soc": 0.8, "by": "16:00"})
    assert target.slot == 45
    assert target.by == datetime(2026, 1, 10, 16, 0, tzinfo=ADELAIDE)
    assert target.by.utcoffset() == timedelta(hours=10, minutes=30)
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "16:00", "days": ["sat"]})] == [45]
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "16:00", "days": "weekends"})] == [45]
    # Weekdays only: Friday's is past and Monday's beyond a 24 h horizon.
    assert targets_of({"soc": 0.8, "by": "16:00", "days": "weekdays"}) == []
    assert targets_of({"soc": 0.8, "by": "16:00", "days": "fri"}) == []


def test_a_target_outside_the_horizon_is_ignored() -> None:
    assert targets_of({"soc": 0.8, "by": "16:00"}, n=44) == []  # ends Sat 15:00
    assert targets_of({"soc": 0.8, "by": "17:15", "days": "fri"}) == []  # in the first slot
    # The first slot ends at 17:30: a target then is on it.
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "17:30", "days": "fri"})] == [0]


def test_a_time_between_slot_ends_is_on_the_slot_ending_before_it() -> None:
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "16:15"})] == [45]
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "16:29"})] == [45]


def test_a_daily_rule_sets_a_target_each_day_of_a_48_hour_horizon() -> None:
    found = targets_of({"soc": 0.8, "by": "07:00"}, n=96)
    assert [t.slot for t in found] == [27, 75]  # Sat 07:00, Sun 07:00


def test_a_one_off_date_in_the_sites_zone() -> None:
    assert [t.slot for t in targets_of({"soc": 0.8, "by": "16:00", "date": "2026-01-10"})] == [45]
    assert targets_of({"soc": 0.8, "by": "16:00", "date": "2026-01-09"}) == []  # passed
    assert targets_of({"soc": 0.8, "by": "16:00", "date": "2026-01-11"}) == []  # too far
    # 00:30 Saturday local is Friday 14:00 UTC: the local date counts, not UTC's.
    (early,) = targets_of({"soc": 0.8, "by": "00:30", "date": "2026-01-10"})
    assert early.slot == 14 and early.by == datetime(2026, 1, 9, 14, 0, tzinfo=UTC)


def test_24_00_is_the_next_midnight() -> None:
    (target,) = targets_of({"soc": 0.5, "by": "24:00", "days": "fri"})
    assert target.by == datetime(2026, 1, 10, 0, 0, tzinfo=ADELAIDE) and target.slot == 13


def test_the_local_time_holds_across_a_clock_change() -> None:
    # Adelaide's clocks go forward at 02:00 on Sunday 2026-10-04: 16:00 is then +10:30.
    start = datetime(2026, 10, 3, 17, 0, tzinfo=ADELAIDE).astimezone(UTC)
    starts = [start + timedelta(minutes=30 * i) for i in range(96)]
    found = slot_targets([parse_rule({"soc": 0.8, "by": "16:00"})], starts, 0.5, ADELAIDE)
    assert [t.by for t in found] == [
        datetime(2026, 10, 4, 16, 0, tzinfo=ADELAIDE),
        datetime(2026, 10, 5, 16, 0, tzinfo=ADELAIDE),
    ]
    assert {ADELAIDE.utcoffset(t.by.replace(tzinfo=None)) for t in found if t.by} == {
        timedelta(hours=10, minutes=30)
    }
    # Saturday 17:00 (+9:30) to Sunday 16:00 (+10:30) is 22 hours: the end of slot 43.
    assert [t.slot for t in found] == [43, 91]
    assert (starts[43] + timedelta(minutes=30)).astimezone(ADELAIDE).hour == 16


def test_rules_keep_their_kind_price_and_name() -> None:
    (hard,) = targets_of({"soc": 0.9, "by": "16:00", "hard": True, "name": "storm prep"})
    assert hard.hard and hard.price == HARD_SHORTFALL_PRICE and hard.name == "storm prep"
    (soft,) = targets_of({"soc": 0.9, "by": "16:00", "shortfall_price": 0.2})
    assert not soft.hard and soft.price == 0.2 and soft.name == "90% by 16:00 daily"


# --- from the site config to the plan ---------------------------------------------------------


def forecast(n: int = 8) -> dict[str, Any]:
    return {
        "start": datetime(2026, 1, 9, 12, 0, tzinfo=ADELAIDE).timestamp(),
        "slot_seconds": 1800,
        "import_price": [0.30] * n,
        "export_price": [0.0] * n,
        "pv_w": [0.0] * n,
        "load_w": [0.0] * n,
    }


def settings(*rules: dict[str, Any], **battery: Any) -> dict[str, Any]:
    return merge_defaults(
        {
            "site": {"timezone": "Australia/Adelaide"},
            "battery": battery,
            "planner": {"soc_targets": list(rules)},
        }
    )


def test_the_site_config_sets_targets_clamped_below_soc_max() -> None:
    inp = plan_inputs(settings({"soc": 1.0, "by": "14:00"}, soc_max=0.95), forecast(), 0.2)
    (target,) = inp.targets
    assert target.slot == 3  # 12:00 + 4 slots
    assert target.soc == pytest.approx(0.93)  # soc_max less control.soc_margin (0.02)
    assert target.requested_soc == 1.0
    (result,) = solve_plan(inp).targets
    assert result.clamped and result.soc == pytest.approx(0.93)
    assert result.to_dict()["clamped"] is True


def test_no_targets_in_the_config_build_the_model_as_before() -> None:
    plain = plan_inputs(settings(), forecast(), 0.2)
    later = plan_inputs(settings({"soc": 0.8, "by": "20:00"}), forecast(), 0.2)  # after 16:00
    assert plain.targets == () or list(plain.targets) == []
    assert list(later.targets) == []
    a, b = build_model(plain).lm, build_model(later).lm
    assert (a.names, a.row_names, a.cost, a.row_value) == (
        b.names,
        b.row_names,
        b.cost,
        b.row_value,
    )


def test_extra_rules_join_the_configs() -> None:
    one_off = one_off_rule(0.5, datetime(2026, 1, 9, 13, 0, tzinfo=ADELAIDE), ADELAIDE)
    inp = plan_inputs(settings(), forecast(), 0.2, targets=[one_off])
    assert [(t.slot, t.soc) for t in inp.targets] == [(1, 0.5)]


def test_a_plan_dict_round_trips_its_targets() -> None:
    inp = plan_inputs(settings({"soc": 0.6, "by": "14:00", "hard": True}), forecast(), 0.2)
    plan = solve_plan(inp)
    again = Plan.from_dict(plan.to_dict())
    assert again.targets == plan.targets
    assert Plan.from_dict({**plan.to_dict(), "targets": []}).targets == []


# --- one-offs for the API and Home Assistant --------------------------------------------------


def test_one_off_rule_is_a_config_rule_for_a_local_time() -> None:
    tomorrow_4pm = datetime(2026, 1, 10, 5, 30, tzinfo=UTC)  # 16:00 in Adelaide
    rule = one_off_rule(0.8, tomorrow_4pm, ADELAIDE)
    assert rule == {"soc": 0.8, "by": "16:00", "date": "2026-01-10"}
    assert one_off_rule(0.8, tomorrow_4pm, ADELAIDE, hard=True, name="trip") == {
        **rule,
        "hard": True,
        "name": "trip",
    }
    with pytest.raises(ValueError, match=r"soc: 1\.5 is greater than the maximum of 1"):
        one_off_rule(1.5, tomorrow_4pm, ADELAIDE)
    with pytest.raises(ValueError, match="shortfall_price"):
        one_off_rule(0.8, tomorrow_4pm, ADELAIDE, hard=True, shortfall_price=1.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        one_off_rule(0.8, datetime(2026, 1, 10, 16, 0), ADELAIDE)


def test_a_one_off_expires_after_its_time_and_a_weekly_rule_never() -> None:
    rule = {"soc": 0.8, "by": "16:00", "date": "2026-01-10"}
    at = datetime(2026, 1, 10, 16, 0, tzinfo=ADELAIDE).timestamp()
    assert not expired(rule, at, ADELAIDE)
    assert expired(rule, at + 1, ADELAIDE)
    assert not expired({"soc": 0.8, "by": "16:00", "days": "all"}, at + 86400 * 365, ADELAIDE)
    assert parse_rule({**rule, "date": date(2026, 1, 10)}).on == date(2026, 1, 10)  # YAML's


# --- the config's checks: located, in words ---------------------------------------------------


def site_file(tmp_path: Path, rules: str) -> Path:
    site = tmp_path / "site.yaml"
    site.write_text(f"site: {{timezone: Australia/Adelaide}}\nplanner:\n  soc_targets:\n{rules}")
    return site


def test_a_good_config_loads(tmp_path: Path) -> None:
    config = load_site_config(
        site_file(
            tmp_path,
            '    - {soc: 0.8, by: "16:00", days: weekdays, shortfall_price: 0.5}\n'
            '    - {soc: 0.9, by: "07:00", days: [sat, sun], hard: true}\n'
            '    - {soc: 0.6, by: "24:00", date: "2026-12-08", name: trip}\n',
        )
    )
    assert len(config["planner"]["soc_targets"]) == 3


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{soc: 1.5, by: "16:00"}', "'planner.soc_targets.0.soc' must be at most 1, not 1.5"),
        (
            "{soc: 0.8, by: 16:00}",
            "'planner.soc_targets.0.by' must be text, not the number 960 (if that was 16:00 "
            'unquoted, YAML read it as 960: quote it, "16:00")',
        ),
        (
            '{soc: 0.8, by: "16:00", date: 2026-12-09}',
            "'planner.soc_targets.0.date' must be text, not the value 2026-12-09 (YAML reads an "
            'unquoted date as a date: write it in quotes, "2026-12-09")',
        ),
        (
            '{soc: 0.8, by: "16:00", days: weekday}',
            "'planner.soc_targets.0.days' must be one of mon, tue, wed, thu, fri, sat, sun, all, "
            "weekdays, weekends, or a list of them; not 'weekday'; did you mean 'weekdays'?",
        ),
        (
            '{soc: 0.8, by: "16:00", days: [mon, tues]}',
            "or a list of them; not 'tues'; did you mean 'tue'?",
        ),
        ('{soc: 0.8, by: "4pm"}', "'planner.soc_targets.0.by' '4pm' has the wrong form"),
        ('{soc: 0.8, by: "16:00", days: weekdayz}', "'planner.soc_targets.0.days'"),
        ("{soc: 0.8}", "missing key 'by' in 'planner.soc_targets.0'"),
        ('{soc: 0.8, by: "16:00", at: "17:00"}', "unknown key 'at' in 'planner.soc_targets.0'"),
        (
            '{soc: 0.8, by: "16:00", date: "2026-12-08", days: all}',
            "'planner.soc_targets.0' takes days or a date, not both",
        ),
        (
            '{soc: 0.8, by: "16:00", date: "2026-02-30"}',
            "'2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            '{soc: 0.8, by: "16:00", hard: true, shortfall_price: 2}',
            "shortfall_price is for soft targets",
        ),
    ],
)
def test_a_bad_rule_is_located_and_said(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(site_file(tmp_path, f"    - {rule}\n"))
    (problem,) = caught.value.problems
    assert problem.line == 4
    assert message in problem.message


def test_rule_problems_name_the_key_at_fault() -> None:
    problems = rule_problems([{"soc": 0.5, "by": "16:00"}, {"soc": 0.5, "by": "1:00", "date": "x"}])
    assert [str(p) for p in problems] == [
        "'planner.soc_targets.1.date': 'x' is not a date (YYYY-MM-DD)"
    ]


def test_soc_targets_reads_the_settings_as_the_planner_does() -> None:
    starts = [
        datetime(2026, 1, 9, 12, 0, tzinfo=ADELAIDE) + timedelta(minutes=30 * i) for i in range(8)
    ]
    assert soc_targets({}, starts, 0.5) == []
    found = soc_targets(settings({"soc": 0.5, "by": "13:00", "days": "fri"}), starts, 0.5)
    assert [(t.slot, t.soc) for t in found] == [(1, 0.5)]


# --- a one-off target in the config that has passed: said where the config is checked ----


def test_a_lapsed_one_off_is_said_at_its_date_by_a_check_that_knows_the_time() -> None:
    rules = [
        {"soc": 0.6, "by": "18:00", "date": "2026-12-08"},
        {"soc": 0.8, "by": "16:00", "days": "weekdays"},  # weekly: never lapses
        {"soc": 0.7, "by": "09:00", "date": "2026-12-09"},
    ]
    before = datetime(2026, 12, 8, 17, 59, tzinfo=ADELAIDE).timestamp()
    assert lapsed_problems(rules, before, ADELAIDE) == []
    after = datetime(2026, 12, 8, 18, 1, tzinfo=ADELAIDE).timestamp()
    [problem] = lapsed_problems(rules, after, ADELAIDE)
    assert problem.path == ("planner", "soc_targets", 0, "date")
    assert str(problem) == (
        "'planner.soc_targets.0.date': 2026-12-08 18:00 has passed, so this target sets "
        "nothing: remove it or give a date still to come"
    )


def test_validate_says_so_with_its_line_and_loading_at_start_does_not_refuse(
    tmp_path: Path,
) -> None:
    site = site_file(
        tmp_path,
        '    - {soc: 0.8, by: "16:00", days: weekdays}\n'
        '    - {soc: 0.6, by: "18:00", date: "2026-12-08"}\n',
    )
    now = datetime(2026, 12, 9, tzinfo=ADELAIDE).timestamp()
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(site, now=now)  # as power-master validate checks it
    (problem,) = caught.value.problems
    assert (problem.line, "2026-12-08 18:00 has passed" in problem.message) == (5, True)
    assert len(load_site_config(site)["planner"]["soc_targets"]) == 2  # the service's start


def test_a_settings_edit_of_the_targets_is_refused_at_a_lapsed_one(tmp_path: Path) -> None:
    site = site_file(tmp_path, '    - {soc: 0.8, by: "16:00", days: weekdays}\n')
    now = datetime(2026, 12, 9, tzinfo=ADELAIDE).timestamp()
    past = {"soc": 0.6, "by": "18:00", "date": "2026-12-08"}
    patch = {"planner": {"soc_targets": [{"soc": 0.8, "by": "16:00", "days": "weekdays"}, past]}}
    with pytest.raises(site_settings.InvalidSettings) as caught:
        site_settings.prepare(site, patch, now)
    [problem] = caught.value.problems
    assert problem.field == "planner.soc_targets.1.date" and "has passed" in problem.message
    later = {**past, "date": "2026-12-10"}
    edit = site_settings.prepare(site, {"planner": {"soc_targets": [later]}}, now)
    assert edit.changed == ["planner.soc_targets"]

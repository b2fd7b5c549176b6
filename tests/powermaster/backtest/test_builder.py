"""The sample scenarios follow the shared data conventions, checked on hand-read rows."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from powermaster.backtest.builder import (
    BATTERY,
    GRID,
    Z90,
    _pv_sigma,
    build_all,
    erring_forecasts,
    main,
    network_price,
    perfect_scenarios,
    pv_bands,
    with_erring_forecasts,
)
from powermaster.backtest.scenario import Scenario, load_scenario
from tests.powermaster.backtest.scenarios import tiny


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {s.name: s for s in perfect_scenarios()}


def test_the_set_of_scenarios(scenarios: dict[str, Scenario]) -> None:
    amber = ["amber-2025-01", "amber-2025-02", "amber-2025-03", "amber-2025-04-01-18"]
    shifted = [f"qld-shifted-2025-{m:02d}" for m in range(1, 9)]
    real = ["qld-real-2025-05-27", "qld-real-2025-07-17"]
    assert list(scenarios) == amber + shifted + real
    assert scenarios["amber-2025-04-01-18"].n_slots == 18 * 48
    assert scenarios["qld-shifted-2025-02"].n_slots == 28 * 48
    # Real windows: whole days only (data 05-26 11:30 .. 06-13 13:30, 07-16 10:00 .. 07-23 10:00)
    assert scenarios["qld-real-2025-05-27"].end.isoformat() == "2025-06-13T00:00:00+10:00"
    assert scenarios["qld-real-2025-07-17"].end.isoformat() == "2025-07-23T00:00:00+10:00"
    for s in scenarios.values():
        assert s.battery == BATTERY and s.grid == GRID and s.forecasts is None
        assert s.slot_start(0).hour == 0 and s.n_slots % 48 == 0


def test_load_is_kwh_times_2000(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["amber-2025-01"]
    assert s.load_w[0] == pytest.approx(0.139 * 2000)  # 2025-01-01T00:00, 0.139 kWh
    assert s.load_w[25] == pytest.approx(2.0632 * 2000)  # 12:30


def test_pv_hour_holds_for_both_half_hours(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["qld-shifted-2025-01"]
    assert s.pv_w[24] == s.pv_w[25] == pytest.approx(5967.38835)  # 12:00 hour, 5.96738835 kW


def test_amber_prices_and_feed_in_sign(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["amber-2025-01"]
    assert s.import_price[0] == pytest.approx(0.4213668)  # general 42.13668 c
    assert s.export_price[0] == pytest.approx(0.1506587)  # feedIn -15.06587 c: paid
    assert s.import_price[24] == pytest.approx(-0.1927374)  # 12:00, general -19.27374 c
    assert s.export_price[24] == pytest.approx(-0.2578178)  # feedIn +25.78178 c: costs


def test_retail_formula_and_364_day_shift(scenarios: dict[str, Scenario]) -> None:
    # 2024-01-03T17:00 RRP 70.94833 $/MWh lands on 2025-01-01T17:00: both Wednesdays.
    src, dst = datetime(2024, 1, 3), datetime(2024, 1, 3) + timedelta(days=364)
    assert dst.date().isoformat() == "2025-01-01" and src.weekday() == dst.weekday()
    s = scenarios["qld-shifted-2025-01"]
    spot = 70.94833 / 1000
    assert s.import_price[34] == pytest.approx((spot * 1.04 + 0.21 + 0.02) * 1.1, abs=1e-6)
    assert s.export_price[34] == pytest.approx(spot - 0.005, abs=1e-6)
    spot = 31.62 / 1000  # 2024-01-03T12:00 -> shoulder network charge
    assert s.import_price[24] == pytest.approx((spot * 1.04 + 0.035 + 0.02) * 1.1, abs=1e-6)
    real = scenarios["qld-real-2025-05-27"]
    spot = 105.47333 / 1000  # 2025-05-27T18:00, unshifted
    assert real.import_price[36] == pytest.approx((spot * 1.04 + 0.21 + 0.02) * 1.1, abs=1e-6)


@pytest.mark.parametrize(
    ("hour", "price"),
    [
        (0, 0.085),
        (10, 0.085),
        (11, 0.035),
        (15, 0.035),
        (16, 0.21),
        (20, 0.21),
        (21, 0.085),
    ],
)
def test_network_price_bands(hour: int, price: float) -> None:
    assert network_price(datetime(2025, 1, 1, hour, 30)) == price


def test_history_is_the_28_days_before(scenarios: dict[str, Scenario]) -> None:
    feb = scenarios["amber-2025-02"]
    jan = scenarios["amber-2025-01"]
    assert feb.history is not None
    assert feb.history["load_w"] == jan.load_w[-28 * 48 :]
    assert feb.history["pv_w"] == jan.pv_w[-28 * 48 :]
    assert jan.history is not None and "pv_w" not in jan.history  # no 2024 PV in the data
    assert len(jan.history["load_w"]) == 28 * 48


@pytest.fixture(scope="module")
def erring(scenarios: dict[str, Scenario]) -> Scenario:
    return with_erring_forecasts(scenarios["qld-shifted-2025-03"], seed=7)


def test_erring_issues_shape(erring: Scenario) -> None:
    issues = erring.forecasts
    assert erring.name == "qld-shifted-2025-03-erring"
    assert issues is not None and len(issues) == erring.n_slots
    for i in (0, 500, erring.n_slots - 1):
        issue = issues[i]
        assert issue.issued_at == erring.slot_start(i)
        assert issue.load_w is None  # never given
        length = min(96, erring.n_slots - i)
        assert issue.pv_w is not None and len(issue.pv_w) == length
        assert issue.import_price is not None and len(issue.import_price) == length
        assert issue.import_price[0] == erring.import_price[i]
    k = erring.known_at(erring.start_epoch + 100 * 1800 + 5, 96)
    assert k["load_w"] is None and k["import_price"][0] == erring.import_price[100]


def test_erring_is_deterministic_per_seed(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["qld-real-2025-07-17"]
    a, b, c = erring_forecasts(s, 1), erring_forecasts(s, 1), erring_forecasts(s, 2)
    assert [i.to_dict() for i in a] == [i.to_dict() for i in b]
    assert [i.pv_w for i in a] != [i.pv_w for i in c]


def test_erring_pv_carries_its_spread(erring: Scenario) -> None:
    """P10 and P90 of the truth given the forecast, slot for slot, at the lead's sigma."""
    for i in (0, 500, erring.n_slots - 1):
        issue = (erring.forecasts or [])[i]
        assert issue.pv_w is not None and issue.pv_p10_w is not None and issue.pv_p90_w is not None
        assert len(issue.pv_p10_w) == len(issue.pv_p90_w) == len(issue.pv_w)
        for lead, (p50, p10, p90) in enumerate(
            zip(issue.pv_w, issue.pv_p10_w, issue.pv_p90_w, strict=True)
        ):
            assert 0 <= p10 <= p50 <= p90
            low, high = pv_bands(p50, _pv_sigma(lead * 0.5))
            assert p10 == pytest.approx(low, abs=0.2) and p90 == pytest.approx(high, abs=0.2)
    assert pv_bands(1000.0, 0.2) == pytest.approx((1000 / (1 + 0.2 * Z90), 1000 / (1 - 0.2 * Z90)))


def test_the_truth_falls_outside_p10_p90_about_one_time_in_ten(erring: Scenario) -> None:
    below = above = n = 0
    for i, issue in enumerate(erring.forecasts or []):
        assert issue.pv_w is not None and issue.pv_p10_w is not None and issue.pv_p90_w is not None
        for j, (p10, p90) in enumerate(zip(issue.pv_p10_w, issue.pv_p90_w, strict=True)):
            truth = erring.pv_w[i + j]
            if truth > 0:
                n += 1
                below += truth < p10
                above += truth > p90
    # A month's days share their errors (a per-day bias): near 10 %, not exactly.
    assert 0.06 < below / n < 0.14 and 0.06 < above / n < 0.14, (below / n, above / n)


def _mean_error(s: Scenario, field: str, leads: range, relative: bool) -> float:
    errors = []
    for i, issue in enumerate(s.forecasts or []):
        values = getattr(issue, field)
        truth = getattr(s, field)
        for lead in leads:
            if lead < len(values) and (not relative or truth[i + lead] > 500):
                e = abs(values[lead] - truth[i + lead])
                errors.append(e / truth[i + lead] if relative else e)
    return statistics.fmean(errors)


def test_errors_grow_with_lead_time(erring: Scenario) -> None:
    near = _mean_error(erring, "pv_w", range(0, 3), relative=True)
    far = _mean_error(erring, "pv_w", range(70, 80), relative=True)
    assert 0.02 < near < 0.08
    assert 0.15 < far < 0.45
    p_near = _mean_error(erring, "import_price", range(1, 3), relative=False)
    p_far = _mean_error(erring, "import_price", range(70, 80), relative=False)
    assert p_far > 3 * p_near


def test_spikes_hidden_beyond_an_hour() -> None:
    n = 200
    d = tiny(n, import_price=[0.3] * n, export_price=[0.05] * n, pv_w=[1000.0] * n)
    prices = d["import_price"]
    prices[150] = 5.0  # a spike
    s = Scenario.from_dict(d)
    issues = erring_forecasts(s, 0)
    for i in range(100, 151):
        issue = issues[i]
        assert issue.import_price is not None
        seen = issue.import_price[150 - i] if 150 - i < len(issue.import_price) else None
        if 150 - i > 2:  # more than an hour ahead
            assert seen is not None and seen < 1.0, i
        else:
            assert seen is not None and seen > 4.0, i
    assert all(math.isfinite(v) for i in issues for v in (i.pv_w or []))


def test_build_all_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        build_all("maybe")  # type: ignore[arg-type]


def test_main_writes_loadable_json(tmp_path: Path) -> None:
    out = tmp_path
    assert main([str(out), "--kind", "perfect"]) == 0
    files = sorted(out.glob("*.json"))
    assert len(files) == 14
    s = load_scenario(out / "qld-real-2025-07-17.json")
    assert s.n_slots == 6 * 48 and s.history is not None

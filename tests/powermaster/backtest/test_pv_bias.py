"""The skewed PV forecasts skew their spread with them."""

from __future__ import annotations

from powermaster.backtest.pv_bias import AFTERNOON, MORNING, with_pv_bias
from powermaster.backtest.scenario import Scenario
from tests.powermaster.backtest.scenarios import tiny


def test_the_spread_moves_with_its_p50() -> None:
    n = 48  # a day: 00:00 to 23:30
    issue = {
        "issued_at": "2025-03-01T00:00:00+10:00",
        "pv_w": [1000.0] * n,
        "pv_p10_w": [500.0] * n,
        "pv_p90_w": [1500.0] * n,
    }
    s = with_pv_bias(Scenario.from_dict(tiny(n, forecasts=[issue])))
    (skewed,) = s.forecasts or []
    assert skewed.pv_w is not None and skewed.pv_p10_w is not None and skewed.pv_p90_w is not None
    assert s.name == "tiny-pvbias"
    for slot, factor in ((8 * 2, MORNING), (12 * 2, 1.0), (15 * 2, AFTERNOON)):
        assert skewed.pv_w[slot] == 1000.0 * factor
        assert skewed.pv_p10_w[slot] == 500.0 * factor
        assert skewed.pv_p90_w[slot] == 1500.0 * factor
    bare = {"issued_at": issue["issued_at"], "pv_w": [1000.0] * n}
    (plain,) = with_pv_bias(Scenario.from_dict(tiny(n, forecasts=[bare]))).forecasts or []
    assert plain.pv_p10_w is None and plain.pv_p90_w is None  # no spread: none made up

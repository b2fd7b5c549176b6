"""A backtest's billing cycles, summed from the ledger, come to its bill to the cent.

Real Amber prices over two days across a cycle boundary (start day 1: local
midnight on 1 February 2025), including the South Australian spike of that
day and negative feed-in prices. The ledger books each tick from the simulated
KH's 0.1 kWh counters; each half hour is then settled against the simulated
site's meter, which is what the backtest's own bill is computed from.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from powermaster.backtest.builder import amber_prices, build_scenario
from powermaster.backtest.runner import run_backtest
from powermaster.backtest.scenario import Scenario


@pytest.fixture(scope="module")
def across_a_cycle() -> Scenario:
    return build_scenario("amber-2025-01-31", date(2025, 1, 31), date(2025, 2, 1), amber_prices())


def cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def test_billing_cycle_totals_equal_the_backtest_bill(across_a_cycle: Scenario) -> None:
    scenario = across_a_cycle
    assert max(scenario.import_price) > 5 and min(scenario.export_price) < 0  # spike, negative
    result = await run_backtest(scenario)
    billing, bill = result["billing"], result["bill"]
    # Two cycles: January's last day, and February's first.
    assert [c["start"][:10] for c in billing["cycles"]] == ["2025-01-01", "2025-02-01"]
    assert billing["cycles"][1]["start"] == "2025-02-01T00:00:00+10:00"
    for name in ("import_cost", "export_revenue", "net"):
        assert cents(billing[name]) == cents(bill[name]), name
        assert billing[name] == pytest.approx(bill[name], abs=0.001)
    # Each cycle is the bill of its own slots (the boundary is where the energy flowed).
    first_day = [s for s in result["slots"] if s["start"] < "2025-02-01T00:00:00+10:00"]
    jan = sum(
        s["grid_import_wh"] / 1000 * p
        for s, p in zip(first_day, scenario.import_price, strict=False)
    )
    assert cents(billing["cycles"][0]["import_cost"]) == cents(jan)

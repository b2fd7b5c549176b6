"""A scenario whose PV forecasts are wrong the same way every day, as a provider's can be.

The erring scenarios' PV forecasts (``builder.erring_forecasts``) err without a
pattern: the truth times (1 + e), e centred on zero whatever the time of day, so
there is nothing for PV calibration to learn. A real provider can be off by the
time of day (a roof face modelled wrongly, afternoon shade): ``with_pv_bias``
skews every issue's PV by its slot's local hour, 25 % too high before 11:00 and
20 % too low from 13:00, to show what calibration does where there is a bias.
"""

from __future__ import annotations

from dataclasses import replace

from powermaster.backtest.scenario import Scenario

MORNING, AFTERNOON = 1.25, 0.8


def pv_bias(hour: int) -> float:
    """The forecast's factor at a local hour."""
    return MORNING if hour < 11 else AFTERNOON if hour >= 13 else 1.0


def with_pv_bias(scenario: Scenario) -> Scenario:
    """The scenario, named ``<name>-pvbias``, with every PV forecast skewed by the hour."""
    issues = []
    for issue in scenario.forecasts or []:
        first = scenario.slot_index(issue.issued_at.timestamp())
        hours = [scenario.slot_start(first + j).hour for j in range(len(issue.pv_w or []))]
        issues.append(
            replace(
                issue,
                pv_w=_skew(issue.pv_w, hours),
                pv_p10_w=_skew(issue.pv_p10_w, hours),  # the spread moves with its P50
                pv_p90_w=_skew(issue.pv_p90_w, hours),
            )
        )
    return replace(scenario, name=f"{scenario.name}-pvbias", forecasts=issues)


def _skew(values: list[float] | None, hours: list[int]) -> list[float] | None:
    if values is None:
        return None
    return [round(w * pv_bias(h), 1) for w, h in zip(values, hours, strict=True)]

"""Arming and disarming the storm window with hysteresis."""

from __future__ import annotations

from typing import Any

from nodes.storm.window import Window, next_window

H = 3600.0
NOW = 1_768_456_800.0
ARM, DISARM = 0.7, 0.4


def periods(*spans: tuple[float, float, float], now: float = NOW) -> list[dict[str, Any]]:
    """Periods from (start h, end h, p) relative to NOW, covering now to the last end."""
    return [
        {"start": NOW + a * H, "end": NOW + b * H, "p": p, "evidence": [f"p={p}"] if p else []}
        for a, b, p in spans
        if NOW + b * H > now
    ]


WARNING = {
    "product": "IDQ21033",
    "title": "Severe Thunderstorm Warning",
    "category": "thunderstorm",
    "phase": "new",
    "issued_at": NOW,
    "expires_at": NOW + 2 * H,
    "ours": True,
}


def step(
    current: Window | None, found: list[dict[str, Any]], now: float = NOW, warnings: Any = ()
) -> Window | None:
    return next_window(current, found, list(warnings), now, ARM, DISARM)


def test_arms_at_the_first_run_over_the_threshold() -> None:
    window = step(None, periods((0, 1, 0.2), (1, 3, 0.75), (3, 4, 0.9), (4, 6, 0.1), (6, 7, 0.8)))
    assert window is not None
    assert (window.start, window.end, window.probability) == (NOW + H, NOW + 4 * H, 0.9)
    assert window.evidence == ["p=0.75", "p=0.9"]


def test_does_not_arm_below_the_threshold() -> None:
    assert step(None, periods((0, 6, 0.69))) is None


def test_between_the_thresholds_it_stays_armed() -> None:
    armed = step(None, periods((0, 3, 0.8)))
    assert step(armed, periods((0, 3, 0.5)), now=NOW + H) == armed


def test_a_forecast_window_holds_until_it_has_passed() -> None:
    armed = step(None, periods((1, 3, 0.8)))
    assert armed is not None and armed.warnings == []
    # The next précis drops the storm: the window still holds until it has passed...
    assert step(armed, periods((0, 6, 0.1)), now=NOW + 2 * H) == armed
    # ...and then the risk is low: disarmed.
    assert step(armed, periods((0, 6, 0.1)), now=NOW + 3 * H) is None


def test_a_passed_window_extends_while_the_risk_stays_over_disarm() -> None:
    armed = step(None, periods((0, 2, 0.8), (2, 5, 0.5)))
    assert armed is not None and armed.end == NOW + 2 * H
    later = step(armed, periods((0, 2, 0.8), (2, 5, 0.5), now=NOW + 2 * H), now=NOW + 2 * H)
    assert later is not None and (later.start, later.end) == (NOW, NOW + 5 * H)
    assert step(later, periods((5, 9, 0.0), now=NOW + 5 * H), now=NOW + 5 * H) is None


def test_a_cancelled_warning_disarms_before_its_expiry() -> None:
    armed = step(None, periods((0, 2, 0.9), (2, 6, 0.0)), warnings=[WARNING])
    assert armed is not None and armed.warnings == ["IDQ21033"]
    cancelled = {**WARNING, "phase": "cancelled"}
    now = NOW + H
    assert step(armed, periods((1, 6, 0.0), now=now), now=now, warnings=[cancelled]) is None


def test_a_cancelled_warning_with_a_stormy_precis_holds_on() -> None:
    armed = step(None, periods((0, 2, 0.9), (2, 6, 0.42)), warnings=[WARNING])
    cancelled = {**WARNING, "phase": "cancelled"}
    now = NOW + H
    held = step(armed, periods((1, 6, 0.42), now=now), now=now, warnings=[cancelled])
    assert held is not None and held.end == NOW + 6 * H


def test_a_renewed_warning_extends_the_window() -> None:
    armed = step(None, periods((0, 2, 0.9)), warnings=[WARNING])
    renewed = {**WARNING, "issued_at": NOW + H, "expires_at": NOW + 4 * H}
    now = NOW + H
    window = step(armed, periods((1, 4, 0.9), now=now), now=now, warnings=[renewed])
    assert window is not None and (window.start, window.end) == (NOW, NOW + 4 * H)


def test_an_earlier_new_window_replaces_a_later_one_that_does_not_touch() -> None:
    tomorrow = step(None, periods((20, 24, 0.8)))
    assert tomorrow is not None
    window = step(tomorrow, periods((0, 2, 0.9), (20, 24, 0.8)))
    assert window is not None and (window.start, window.end) == (NOW, NOW + 2 * H)

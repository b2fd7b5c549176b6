"""The control settings: defaults as documented, and the site config checks them when it loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.errors import InvalidFlows
from nodes.control.settings import ControlSettings
from powermaster.config import load_site_config
from tests.nodes.control.situations import site


def test_defaults() -> None:
    options = ControlSettings.from_settings(site())
    assert options.critical_soc == pytest.approx(0.10)  # soc_min: no floor above it
    assert (options.soc_hysteresis, options.degraded_soc_margin) == (0.02, 0.05)
    assert options.min_hold_for("force_discharge") == 600
    assert (options.max_mode_changes, options.mode_change_window_s) == (6, 3600)
    assert options.opportunistic and options.default_cost_basis == 0.10
    assert options.schedule == ()


def test_opportunistic_follows_the_planners_arbitrage_switch() -> None:
    settings = site()
    settings["planner"]["arbitrage_export"] = False
    assert not ControlSettings.from_settings(settings).opportunistic


def test_a_site_config_with_a_schedule_loads(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "control:\n"
        "  critical_soc: 0.2\n"
        "  min_hold: {force_discharge: 30m}\n"
        "  opportunistic: {enabled: false}\n"
        "  schedule:\n"
        "    - {days: weekdays, from: '16:00', to: '21:00', mode: self_use, export_limit_w: 0}\n"
        "    - {days: [sat, sun], from: '22:00', to: '06:00', mode: force_charge, power_w: 2000}\n"
    )
    options = ControlSettings.from_settings(load_site_config(path))
    assert options.critical_soc == 0.2
    assert options.min_hold_for("force_discharge") == 1800 and options.min_hold_for("hold") == 600
    assert not options.opportunistic and options.default_cost_basis == 0.10
    assert [rule.mode for rule in options.schedule] == ["self_use", "force_charge"]


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("  min_hold: {turbo: 30m}\n", "control.min_hold"),
        ("  schedule: [{days: funday, from: '16:00', to: '21:00', mode: hold}]\n", "days"),
        ("  schedule: [{from: '25:00', to: '21:00', mode: hold}]\n", "from"),
        ("  schedule: [{from: '16:00', to: '21:00', mode: turbo}]\n", "mode"),
        ("  max_mode_changes: 0\n", "max_mode_changes"),
    ],
)
def test_a_bad_control_setting_is_named_where_it_is(tmp_path: Path, line: str, where: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("control:\n" + line)
    with pytest.raises(InvalidFlows, match=where):
        load_site_config(path)

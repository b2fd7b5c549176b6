"""A schedule rule's export limit reaches the simulated inverter through the whole service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service

# 2026-01-15 11:00 Brisbane: summer sun, PV well above the house's load.
START = datetime(2026, 1, 15, 1, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def site_config(tmp_path: Path, limit_w: int) -> Path:
    """The demo site with a rule for all days, all day: self-use exporting at most
    ``limit_w``; a full battery, so the sun's surplus would go to the grid."""
    rule = (
        '  schedule:\n    - {name: capped, days: all, from: "00:00", to: "00:00", '
        f"mode: self_use, export_limit_w: {limit_w}}}\n"
    )
    text = SITE_CONFIG.read_text()
    for old, new in (
        ("  min_hold: 10m ", "  min_hold: 0 "),
        ("  soc_initial: 0.5\n", "  soc_initial: 1.0\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "site.yaml"
    path.write_text(text.replace("\ncontrol:\n", "\ncontrol:\n" + rule))
    return path


@pytest.mark.parametrize(
    ("limit_w", "mode"),
    [(0, "self_use_zero_export"), (1000, "self_use")],  # 1000: the inverter's own self-use
)
async def test_a_scheduled_export_limit_holds_in_self_use_for_an_hour(
    tmp_path: Path, free_port: int, limit_w: int, mode: str
) -> None:
    clock = VirtualClock(START)
    config = site_config(tmp_path, limit_w)
    options = Options(config=config, data_dir=tmp_path / "data", simulator_port=free_port, ui=False)
    site = Service(options, clock=clock)
    assert site.settings["control"]["schedule"][0]["export_limit_w"] == limit_w
    await site.start()
    try:
        assert site.simulator is not None
        model = site.simulator.model
        await clock.advance(1)
        before = model.meter.total.grid_export, model.meter.total.pv_curtailed
        await clock.advance(HOUR)
        exported = model.meter.total.grid_export - before[0]
        curtailed = model.meter.total.pv_curtailed - before[1]
        assert exported <= limit_w * HOUR / 3600 + 1e-6  # Wh
        assert curtailed > 300  # Wh the grid would have taken: the limit held them back
        assert model.settings.export_limit_w == limit_w  # 46616/46617, the inverter's own
        state = site.state()
        assert state["level"] == "schedule", state["reason"]
        assert state["mode"] == mode and "capped" in state["reason"]
        ticks = [r for r in site.engine.traces.recent("control") if r["outcome"] == "ok"]
        assert len(ticks) >= 12
    finally:
        await site.stop()
    assert model.settings.export_limit_w == 5000  # released: the grid's limit again

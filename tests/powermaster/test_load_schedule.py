"""A load the planner schedules into the solar window is switched on and off at the
right virtual times, by the shipped flows, on a Shelly Gen2+ answering over real HTTP
(with digest auth), through a whole Brisbane summer day on the virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flowengine.clock import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from tests.nodes.loads.fake_shelly import FakeShellyGen2
from tests.support.mosquitto import free_port

ZONE = ZoneInfo("Australia/Brisbane")
START = datetime(2026, 1, 15, 4, 0, tzinfo=ZONE).timestamp()  # 04:00 local, before sunrise


async def test_the_planned_load_runs_its_hours_in_the_solar_window(tmp_path: Path) -> None:
    shelly = FakeShellyGen2(free_port(), password="relay-pass")
    await shelly.start()
    (tmp_path / "secrets.yaml").write_text("pool_password: relay-pass\n")
    config = tmp_path / "site.yaml"
    config.write_text(
        SITE_CONFIG.read_text()
        + f"""
loads:
  pool:
    name: Pool pump
    adapter: shelly_gen2
    host: 127.0.0.1
    port: {shelly.port}
    username: admin
    password: !secret pool_password
    power_w: 1200
    run_time: 2h
    window: {{from: "07:00", to: "17:00"}}
    min_run: 30m
    safety_off: 30m
"""
    )
    clock = VirtualClock(START)
    site = Service(
        Options(config=config, data_dir=tmp_path / "data", simulator_port=free_port(), ui=False),
        clock=clock,
    )
    await site.start()
    timeline: list[tuple[float, bool]] = []
    pv_at: dict[float, float] = {}
    try:
        for _ in range(16 * 12):  # 04:00 to 20:00 in 5-minute steps
            await clock.advance(300)
            await site.engine.settle()
            telemetry = site.engine.context.get("global", "telemetry") or {}
            timeline.append((clock.time(), shelly.relays[0].on))
            pv_at[clock.time()] = float(telemetry.get("pv_w") or 0.0)
        plan = site.engine.context.get("global", "plan")
        record = site.engine.context.get("global", "loads")["pool"]
    finally:
        await site.stop()
        await shelly.stop()

    on_at = [datetime.fromtimestamp(t, ZONE) for t, on in timeline if on]
    assert on_at, "the pump never ran"
    # Inside its window, in daylight, and for its two hours (5-minute samples).
    assert all(7 <= at.hour < 17 for at in on_at)
    assert 2 * 12 - 1 <= len(on_at) <= 2 * 12 + 1
    assert record["state"] == "done" and record["run_today_s"] >= 2 * 3600 - 300
    # The planner put it where the sun covers it: every on-sample has PV above its draw.
    assert all(pv_at[t] >= 1200 for t, on in timeline if on)
    # Switched at slot boundaries: each run starts on the half hour and lasts whole slots.
    starts = [
        t for (t, on), (_, before) in zip(timeline[1:], timeline, strict=False) if on and not before
    ]
    ends = [
        t for (t, on), (_, before) in zip(timeline[1:], timeline, strict=False) if before and not on
    ]
    assert starts and all(datetime.fromtimestamp(t, ZONE).minute in (0, 30) for t in starts)
    assert all((end - start) % 1800 == 0 for start, end in zip(starts, ends, strict=True))
    slot_starts = [datetime.fromisoformat(s["start"]).timestamp() for s in plan["slots"]]
    assert plan["deferrable"].get("pool") is not None
    # Every command after the first went through digest auth, with the safety timer.
    turn_ons = [f for f in shelly.frames if f.get("method") == "Switch.Set" and f["params"]["on"]]
    assert turn_ons and all(f["params"].get("toggle_after") == 1800 for f in turn_ons)
    assert shelly.challenges >= 1
    assert datetime.fromtimestamp(START, UTC) < datetime.fromtimestamp(slot_starts[0] + 1, UTC)

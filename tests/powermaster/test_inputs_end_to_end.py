"""Real Amber prices drive the real flows; whatever Amber does next, nothing bad reaches the
inverter: the plan keeps being built from the last good prices and every command stays
inside the battery's limits."""

from __future__ import annotations

import math
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from tests.nodes.amber.fake_amber import API_KEY, SITE_ID, FakeAmber, Reply, payload

# The captured Amber response's current interval starts 2025-04-09T17:00:01Z.
START = datetime(2025, 4, 9, 17, 1, tzinfo=UTC).timestamp()


def site_config(tmp_path: Path, amber_url: str) -> Path:
    text = SITE_CONFIG.read_text().replace("prices: sample", "prices: amber")
    text += (
        f"\namber:\n  base_url: {amber_url}\n  api_key: !secret amber_api_key\n"
        f"  site_id: {SITE_ID}\n  timeout_s: 0.2\n"
    )
    (tmp_path / "secrets.yaml").write_text(f"amber_api_key: {API_KEY}\n")
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def bad_replies() -> list[tuple[str, Reply]]:
    wrong_unit = payload("current_30min")
    for interval in wrong_unit:
        interval["perKwh"] *= 1000  # $/MWh-like figures where c/kWh belong
    missing = payload("current_30min")
    del missing[3]["perKwh"]
    return [
        ("server error", Reply(500, "internal error")),
        ("timeout", Reply(hang=True)),
        ("rate limited", Reply(429, {"message": "slow down"}, {"Retry-After": "60"})),
        ("not JSON", Reply(200, "<html>maintenance</html>")),
        ("empty forecast", Reply(200, [])),
        ("missing field", Reply(200, missing)),
        ("unexpected unit", Reply(200, wrong_unit)),
    ]


@pytest.fixture
async def amber(free_port: int) -> Any:
    fake = FakeAmber(free_port)
    await fake.start()
    yield fake
    await fake.stop()


async def test_amber_failures_never_reach_the_inverter(tmp_path: Path, amber: FakeAmber) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        modbus_port = sock.getsockname()[1]
    clock = VirtualClock(START)
    options = Options(
        config=site_config(tmp_path, amber.url),
        data_dir=tmp_path / "data",
        simulator_port=modbus_port,
        ui=False,
    )
    site = Service(options, clock=clock)
    await site.start()
    assert site.simulator is not None
    model = site.simulator.model
    setpoints: list[float] = []
    try:
        await clock.advance(60)
        await site.engine.settle()
        good = site.engine.context.get("global", "prices")
        assert good["provider"] == "amber"
        plan = site.engine.context.get("global", "plan")
        assert plan["slots"][0]["import_price"] == pytest.approx(0.2362991)
        limits = site.settings["battery"]

        for what, reply in bad_replies():
            amber.reply = reply
            await clock.advance(600)
            await site.engine.settle()
            assert site.engine.context.get("global", "prices") == good, what
            health = site.health()["checks"]["inputs"]["prices"]
            assert health["last_error"], what
            site.engine.trigger("plan", source=f"test: after {what}")
            await clock.advance(120)  # time for any retries and a Retry-After
            await site.engine.settle()
            plan = site.engine.context.get("global", "plan")
            prices = [s["import_price"] for s in plan["slots"]]
            assert prices and all(math.isfinite(p) and abs(p) < 20 for p in prices), what
            assert plan["built_from"]["trigger"].startswith(f"test: after {what}"), what
            assert limits["soc_min"] - 1e-9 <= model.soc <= limits["soc_max"] + 1e-9
            setpoints.append(model.remote.setpoint_w)
            decision = site.engine.context.get("global", "decision")
            assert decision["power_w"] <= max(limits["max_charge_w"], limits["max_discharge_w"])

        assert site.health()["status"] == "degraded"  # prices went stale meanwhile
        # the AC setpoint is PV - battery power: never beyond PV plus the discharge limit
        assert all(
            -limits["max_charge_w"] <= w <= 10_000 + limits["max_discharge_w"] for w in setpoints
        )
        for run in site.engine.traces.recent("control"):
            assert run["outcome"] == "ok"
        amber.reply = Reply(200, payload("current_30min"))
        await clock.advance(600)
        await site.engine.settle()
        assert site.engine.context.get("global", "prices")["fetched_at"] > good["fetched_at"]
        assert not site.health()["checks"]["inputs"]["prices"]["stale"]
    finally:
        await site.stop()

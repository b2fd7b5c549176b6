"""Commanded versus actual against the whole service, over real Modbus TCP on the virtual
clock: the Fox app (a Modbus client of its own on the simulator's port) changing the
work mode while a forced charge is held is noticed within one control tick: health
degraded with the reason named, and one notification, not one a tick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from flowengine import VirtualClock
from flows import FLOWS_DIR, SITE_CONFIG
from nodes.foxess.registers import UNIT_ID, WORK_MODE, WorkMode
from powermaster.service import Options, Service
from powermaster.sim.dispatch import WorkMode as SimWorkMode
from tests.nodes.notify.fake_services import FakeServices
from tests.powermaster.test_faults import START, TICK, force_a_charge, model
from tests.support.mosquitto import free_port as another_port


@pytest.fixture
async def hooks(free_port: int) -> AsyncIterator[FakeServices]:
    receiver = FakeServices(free_port)
    await receiver.start()
    yield receiver
    await receiver.stop()


def told(hooks: FakeServices, event: str) -> list[dict[str, object]]:
    return [r.json() for r in hooks.received if r.path == "/hook" and r.json()["event"] == event]


async def fox_app_writes(port: int, address: int, value: int) -> None:
    """What the Fox app (or its cloud scheduler) does: a write of its own, on its own link."""
    app = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    assert await app.connect()
    try:
        reply = await app.write_register(address, value, device_id=UNIT_ID)
        assert not reply.isError(), reply
    finally:
        app.close()


async def test_the_fox_app_changing_the_work_mode_is_noticed_within_one_tick(
    tmp_path: Path, hooks: FakeServices
) -> None:
    clock = VirtualClock(START)
    port = another_port()
    notify = {"cooldown": "30m", "webhook": {"url": f"{hooks.base}/hook"}}
    options = Options(
        config=SITE_CONFIG,
        flows=FLOWS_DIR,
        data_dir=tmp_path / "data",
        simulator_port=port,
        ui=False,
        extra_settings={"notify": notify},
    )
    site = Service(options, clock=clock)
    await site.start()
    try:
        await clock.advance(1)
        await force_a_charge(site, clock)
        for flow in ("plan", "replan"):  # the test's charge stays the plan in force
            await site.engine.flows[flow].stop()
        await clock.advance(TICK)  # a tick judges the charge as commanded
        check = site.engine.context.get("global", "command_check")
        assert check["state"] == "ok" and check["commanded"]["mode"] == "force_charge", check
        assert site.health()["status"] == "ok"

        await fox_app_writes(port, WORK_MODE, WorkMode.FEED_IN_FIRST)
        assert model(site).settings.work_mode == SimWorkMode.FEED_IN_FIRST
        assert model(site).remote.enabled  # the forced charge itself carries on
        changed_at = clock.time()
        await clock.advance(TICK)

        check = site.engine.context.get("global", "command_check")
        assert check["state"] == "degraded", check
        assert [f["check"] for f in check["findings"]] == ["work_mode"]
        assert check["at"] - changed_at <= TICK
        named = "work mode (41000) is Feed-in First (1), not Self Use (0) as set"
        health = site.health()
        assert health["status"] == "degraded"
        assert any(named in reason for reason in health["reasons"]), health["reasons"]
        (notice,) = told(hooks, "command_check")
        assert notice["key"] == "work_mode" and notice["level"] == "warning"
        assert str(notice["text"]).startswith("W" + named[1:])

        assert model(site).settings.work_mode == SimWorkMode.SELF_USE  # that tick put it back

        for _ in range(3):  # a cloud scheduler rewriting it at every tick: told no more
            await fox_app_writes(port, WORK_MODE, WorkMode.FEED_IN_FIRST)
            await clock.advance(TICK)
            assert site.engine.context.get("global", "command_check")["state"] == "degraded"
            assert model(site).settings.work_mode == SimWorkMode.SELF_USE
        assert len(told(hooks, "command_check")) == 1
        assert [n["key"] for n in told(hooks, "health_degraded")] == ["degraded"]

        await clock.advance(2 * TICK)  # left alone, but not yet for long enough
        assert site.engine.context.get("global", "command_check")["state"] == "degraded"
        await clock.advance(TICK)  # three ticks in a row found it as set: sound again
        assert site.engine.context.get("global", "command_check")["state"] == "ok"
        assert site.health()["status"] == "ok"
    finally:
        await site.stop()

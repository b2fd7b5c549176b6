"""The client's safety duties over real TCP: the configured fallback before forcing, the
storm reserve as the inverter's own floor, a clean release, and nonsense never passed on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowengine.clock import VirtualClock
from flowengine.message import Message
from nodes.foxess import registers as r
from nodes.foxess.client import FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxCommand, FoxRead, FoxWatchdog
from nodes.foxess.link import LINK_KEY
from nodes.foxess.plausible import TelemetryLimits, implausible
from powermaster.sim.dispatch import WorkMode
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel
from tests.nodes.foxess.drive import drive
from tests.nodes.foxess.test_client import _Ctx

T0 = 1_748_743_200.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Night: 1 kW load, the battery half full."""
    return SiteModel(ConstantProfile(0, 1000), T0, Battery(soc_initial=0.5))


@pytest.fixture
async def server(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=free_port) as srv:
        yield srv


def client(server: FoxKHServer, clock: VirtualClock, **options: Any) -> FoxKHClient:
    return FoxKHClient("127.0.0.1", server.port, timeout_s=0.5, clock=clock, **options)


@pytest.mark.parametrize(
    ("fallback", "work_mode"),
    [
        ("self_use", WorkMode.SELF_USE),
        ("feed_in_first", WorkMode.FEED_IN_FIRST),
        ("back_up", WorkMode.BACK_UP),
    ],
)
async def test_every_forced_mode_first_sets_the_configured_fallback(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel, fallback: str, work_mode: WorkMode
) -> None:
    fox = client(server, clock, fallback_mode=fallback)
    try:
        model.set_work_mode(
            WorkMode.FEED_IN_FIRST if work_mode is WorkMode.SELF_USE else WorkMode.SELF_USE,
            clock.time(),
        )
        for mode in ("force_charge", "force_discharge", "hold", "self_use_zero_export"):
            result = await fox.command(mode, 2000)
            assert result.verified and result.readback[41000] == work_mode, mode
        await clock.advance(61)  # nobody feeds the watchdog
        assert not model.remote.enabled and model.settings.work_mode is work_mode
    finally:
        fox.close()


def test_an_unknown_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback_mode"):
        FoxKHClient("127.0.0.1", fallback_mode="force_charge")


async def test_the_storm_reserve_is_the_inverters_own_floor_then_the_configured_one(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = client(server, clock, min_soc_backstop=0.10)
    try:
        held = await fox.command("self_use", min_soc=0.634)  # rounded up: never below it
        assert held.verified and held.written[41011] == 64 and held.readback[41011] == 64
        assert model.settings.min_soc_on_grid_pct == 64
        again = await fox.command("force_charge", 1000, min_soc=0.634)
        assert 41011 not in again.written and again.readback[41011] == 64  # checked, unchanged
        below = await fox.command("hold", min_soc=0.05)  # below the configured floor: the floor
        assert below.readback[41011] == 10
        await fox.command("force_charge", 1000, min_soc=0.5)
        restored = await fox.command("force_charge", 1000)  # no reserve asked: the backstop
        assert restored.verified and restored.written[41011] == 10
        assert model.settings.min_soc_on_grid_pct == 10
    finally:
        fox.close()


async def test_a_floor_the_inverter_did_not_take_is_a_mismatch(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = client(server, clock, min_soc_backstop=0.10)
    server.serve_nonsense({41011: 10})  # it reads back 10 whatever was written
    try:
        result = await drive(clock, fox.command("self_use", min_soc=0.4))
        assert not result.verified
        assert result.mismatches == ["register 41011: expected 40, read back 10"]
        assert clock.time() == T0 + 5  # read again once a lagging readback would have caught up
    finally:
        fox.close()


async def test_release_ends_remote_control_at_once_and_restores_the_floor(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = client(server, clock, min_soc_backstop=0.10)
    try:
        await fox.command("force_charge", 3000, min_soc=0.8)
        assert model.remote.enabled and model.settings.min_soc_on_grid_pct == 80
        result = await fox.release()
        assert result.verified and result.written == {44000: 0, 41011: 10}
        assert not model.remote.enabled and model.settings.min_soc_on_grid_pct == 10
        assert model.settings.work_mode is WorkMode.SELF_USE  # its own work mode, at once
        assert not fox.remote_active
    finally:
        fox.close()


async def test_a_work_mode_changed_under_a_command_in_force_is_put_back_at_the_next_tick(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    """The Fox app set Feed-in First while a charge is held: the same command again (the
    next tick) writes the whole sequence, 41000 first, rather than only feeding the
    watchdog, so the inverter falls back to what was promised when the watchdog fires."""
    fox = client(server, clock)
    try:
        await fox.command("force_charge", 3000)
        model.set_work_mode(WorkMode.FEED_IN_FIRST, clock.time())
        await clock.advance(5)
        await fox.read_telemetry()
        again = await fox.command("force_charge", 3000)
        assert again.verified and again.written[41000] == WorkMode.SELF_USE
        assert model.settings.work_mode is WorkMode.SELF_USE and model.remote.enabled
        await clock.advance(5)
        await fox.read_telemetry()
        steady = await fox.command("force_charge", 3000)  # put back: nothing to write now
        assert steady.verified and steady.written == {}
    finally:
        fox.close()


@pytest.mark.parametrize(
    ("fallback", "work_mode"), [("self_use", WorkMode.SELF_USE), ("back_up", WorkMode.BACK_UP)]
)
async def test_release_leaves_the_fallback_work_mode_whatever_changed_it(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel, fallback: str, work_mode: WorkMode
) -> None:
    fox = client(server, clock, fallback_mode=fallback)
    try:
        await fox.command("force_charge", 3000)
        model.set_work_mode(WorkMode.FEED_IN_FIRST, clock.time())  # the Fox app, unseen
        result = await fox.release()
        assert result.verified and result.written[41000] == work_mode
        assert model.settings.work_mode is work_mode and not model.remote.enabled
    finally:
        fox.close()


async def test_release_leaves_the_work_mode_alone_when_nothing_was_commanded(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = client(server, clock)
    try:
        await fox.read_telemetry()
        model.set_work_mode(WorkMode.FEED_IN_FIRST, clock.time())
        result = await fox.release()
        assert 41000 not in result.written
        assert model.settings.work_mode is WorkMode.FEED_IN_FIRST
    finally:
        fox.close()


async def test_nonsense_telemetry_is_an_error_never_a_reading(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = client(server, clock)
    try:
        server.serve_nonsense()
        with pytest.raises(InverterError, match="implausible telemetry") as err:
            await fox.read_telemetry()
        assert "SOC 250 % (31024)" in str(err.value)
        assert "battery_w 32000 W beyond" in str(err.value)
        assert "pv_w 1000000 W beyond" in str(err.value)
        server.clear_faults()
        assert (await fox.read_telemetry()).soc == 0.5
    finally:
        fox.close()


reading = st.fixed_dictionaries(
    {
        "soc_pct": st.floats(-50, 400),
        "battery_w": st.floats(-40_000, 40_000),
        "pv_w": st.floats(0, 2e6),
        "load_w": st.floats(0, 1e5),
        "grid_w": st.floats(-1e5, 1e5),
        "battery_temp_c": st.floats(-100, 3000),
        "inverter_temp_c": st.floats(-100, 3000),
        "battery_voltage_v": st.floats(-10, 2000),
    }
)


@given(reading)
def test_whatever_passes_is_physically_possible(values: dict[str, float]) -> None:
    limits = TelemetryLimits.for_site(
        {"battery": {"max_charge_w": 5000}, "grid": {"max_import_w": 15000}}
    )
    if not implausible(values, limits):
        assert 0 <= values["soc_pct"] <= 100
        assert abs(values["battery_w"]) <= 21_000 and values["pv_w"] <= 30_000
        assert abs(values["grid_w"]) <= 60_000 and values["load_w"] <= 60_000
        assert -40 <= values["battery_temp_c"] <= 150


def test_bigger_declared_hardware_widens_the_bounds() -> None:
    big = TelemetryLimits.for_site(
        {
            "battery": {"max_charge_w": 15_000, "max_discharge_w": 0},
            "grid": {"max_import_w": 40_000, "max_export_w": 0},
        }
    )
    assert big.battery_w == 30_000 and big.site_w == 110_000


async def test_the_nodes_record_the_link_before_raising(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    settings = {"battery": {"soc_min": 0.1}, "inverter": {"fallback_mode": "back_up"}}
    conn = FoxModbusConnection("fox", {"port": server.port, "timeout_s": 0.5}, clock, settings)
    await conn.open()
    ctx = _Ctx(conn, clock)
    read = FoxRead(ctx, {"connection": "fox"})  # type: ignore[arg-type]
    command = FoxCommand(ctx, {"connection": "fox"})  # type: ignore[arg-type]
    try:
        assert conn.client.fallback is r.WorkMode.BACK_UP
        await read.process(Message())
        assert ctx.globals[LINK_KEY] == {"ok_at": T0, "consecutive_errors": 0}
        server.serve_nonsense()
        for streak in (1, 2):
            await clock.advance(60)
            with pytest.raises(InverterError):
                await read.process(Message())
            link = ctx.globals[LINK_KEY]
            assert link["consecutive_errors"] == streak and link["error_at"] == clock.time()
            assert link["error"].startswith("implausible telemetry")
        server.clear_faults()
        out = await command.process(Message({"mode": "hold", "min_soc": 0.35}))
        assert out.payload["verified"] and out.payload["readback"][41011] == 35
        assert ctx.globals[LINK_KEY]["consecutive_errors"] == 0
        assert ctx.globals[LINK_KEY]["error"].startswith("implausible")  # kept for the record
        with pytest.raises(InverterError, match="min_soc"):
            await command.process(Message({"mode": "hold", "min_soc": 35}))
        released = await conn.release()
        assert released.verified and released.readback[41011] == 10
    finally:
        await conn.close()


async def test_the_watchdog_is_not_fed_once_health_says_safety(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    conn = FoxModbusConnection("fox", {"port": server.port, "timeout_s": 0.5}, clock, {})
    await conn.open()
    ctx = _Ctx(conn, clock)
    try:
        await FoxCommand(ctx, {"connection": "fox"}).process(  # type: ignore[arg-type]
            Message({"mode": "force_charge", "power_w": 2000})
        )
        ctx.globals.set("decision", {"at": clock.time()})  # control is alive...
        ctx.globals.set("health", {"state": "safety", "reasons": ["telemetry: 16 min old"]})
        watchdog = FoxWatchdog(ctx, {"connection": "fox"})  # type: ignore[arg-type]
        out = await watchdog.process(Message())  # ...but not sound: no feeding at all
        assert out.payload["refreshes"] == 0
        assert out.payload["stopped"] == "health is safety: watchdog left to expire"
        await clock.advance(61)
        assert not model.remote.enabled and model.settings.work_mode is WorkMode.SELF_USE
    finally:
        await conn.close()

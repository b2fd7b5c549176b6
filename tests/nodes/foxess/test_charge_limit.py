"""The charge limit (41007) that lets a KH curtail PV below its charge limit, over real TCP.

A KH in remote control curtails PV only while the battery takes all it may (protocols
§1.6). Lowering the max charge current to the planned charge is how a plan holds the
battery, or charges it slowly, while PV it does not want is left unused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowengine.clock import VirtualClock
from nodes.foxess import registers as r
from nodes.foxess.client import FoxKHClient, InverterError
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel

T0 = 1_748_743_200.0
VOLTS = 200.0  # the simulated battery's voltage: 1 A = 200 W


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Midday: 6 kW PV, 1 kW load, a battery that could take 3 kW."""
    battery = Battery(
        max_charge_w=3000,
        max_discharge_w=2000,
        soc_initial=0.5,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
        nominal_voltage_v=VOLTS,
    )
    return SiteModel(ConstantProfile(6000, 1000), T0, battery)


@pytest.fixture
async def server(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=free_port) as srv:
        yield srv


async def connected(
    server: FoxKHServer, clock: VirtualClock, charge_current_a: float | None = None
) -> FoxKHClient:
    fox = FoxKHClient(
        "127.0.0.1", server.port, timeout_s=1.0, clock=clock, charge_current_a=charge_current_a
    )
    assert await fox.connect()
    await fox.read_telemetry()  # the battery's voltage turns watts into 41007's amps
    return fox


async def test_a_hold_that_curtails_pv_sets_the_charge_current_to_zero(
    server: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    fox = await connected(server, clock)
    soc = model.soc
    # Hold, the AC output at the house's 1 kW: without the limit the battery would take 3 kW.
    result = await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    assert result.verified, result.mismatches
    assert result.readback[r.MAX_CHARGE_CURRENT] == 0
    await clock.advance(20)  # inside the 60 s watchdog
    seen = await fox.read_telemetry()
    assert seen.battery_w == pytest.approx(0.0)
    assert seen.grid_w == pytest.approx(0.0)
    assert seen.pv_w == pytest.approx(1000)  # 5 kW of PV curtailed
    assert model.soc == pytest.approx(soc)
    fox.close()


async def test_a_slow_charge_that_curtails_pv_charges_at_the_limit_asked(
    server: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    fox = await connected(server, clock)
    result = await fox.command("force_charge", 1000, setpoint_w=1000, charge_limit_w=1000)
    assert result.verified, result.mismatches
    assert result.readback[r.MAX_CHARGE_CURRENT] == 50  # 1000 W / 200 V = 5.0 A
    await clock.advance(20)  # inside the 60 s watchdog
    seen = await fox.read_telemetry()
    assert seen.battery_w == pytest.approx(1000)
    assert seen.grid_w == pytest.approx(0.0)  # nothing exported at a negative price
    assert seen.pv_w == pytest.approx(2000)
    fox.close()


async def test_telemetry_tells_the_charge_limit_in_force(
    server: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    # The PV a held battery leaves curtailed is not in the PV reading: the control tick
    # needs the lowered limit to know the reading is its own setpoint's echo.
    fox = await connected(server, clock)
    assert (await fox.read_telemetry()).charge_limit_w is None  # 41007 not read yet
    await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    held = await fox.read_telemetry()
    assert held.charge_limit_w == 0 and held.battery_w == pytest.approx(0.0)
    await fox.command("force_charge", 1000, setpoint_w=1000, charge_limit_w=1000)
    assert (await fox.read_telemetry()).charge_limit_w == pytest.approx(1000)
    await fox.command("self_use")
    normal = model.settings.max_charge_current_da / 10 * VOLTS
    assert (await fox.read_telemetry()).charge_limit_w == pytest.approx(normal)
    fox.close()


async def test_the_charge_current_goes_back_when_no_limit_is_asked(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = await connected(server, clock)
    found = (await fox.read_settings()).max_charge_current_a
    await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    result = await fox.command("self_use")
    assert result.verified, result.mismatches
    assert (await fox.read_settings()).max_charge_current_a == found
    await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    await fox.release()
    assert (await fox.read_settings()).max_charge_current_a == found
    fox.close()


async def test_a_configured_normal_current_is_what_comes_back(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    # After a crash that left 41007 lowered, the configured value (not the one read) returns.
    fox = await connected(server, clock, charge_current_a=25.0)
    await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    await fox.command("self_use")
    assert (await fox.read_settings()).max_charge_current_a == 25.0
    fox.close()


async def test_a_limit_within_an_amp_of_the_one_in_force_is_not_rewritten(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = await connected(server, clock)
    await fox.command("force_charge", 1000, setpoint_w=1000, charge_limit_w=1000)
    again = await fox.command("force_charge", 1000, setpoint_w=1000, charge_limit_w=1100)
    assert r.MAX_CHARGE_CURRENT not in again.written  # 5.5 A against 5.0 A in force
    farther = await fox.command("force_charge", 1000, setpoint_w=1000, charge_limit_w=1600)
    assert farther.written[r.MAX_CHARGE_CURRENT] == 80
    fox.close()


async def test_without_a_voltage_reading_nothing_is_lowered(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = FoxKHClient("127.0.0.1", server.port, timeout_s=1.0, clock=clock)
    assert await fox.connect()
    result = await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=0)
    assert r.MAX_CHARGE_CURRENT not in result.written
    fox.close()


async def test_a_negative_charge_limit_is_refused(server: FoxKHServer, clock: VirtualClock) -> None:
    fox = await connected(server, clock)
    with pytest.raises(InverterError, match="charge limit"):
        await fox.command("hold", 0, setpoint_w=1000, charge_limit_w=-5)
    fox.close()

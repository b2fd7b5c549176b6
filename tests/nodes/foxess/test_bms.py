"""The BMS connect state (37002 on KH >= 1.33, 31028 before), read over real TCP.

A KH whose battery BMS stopped answering reads 0 for the battery: SOC 0 %, no
power, 0 °C. Taken as real, SOC 0 would have control charge from the grid; the
client gives them as unknown (None) instead, and says the BMS is disconnected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flowengine.clock import VirtualClock
from flowengine.message import Message
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxRead
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel
from tests.nodes.foxess.test_client import _Ctx

T0 = 1_748_743_200.0


@pytest.fixture(params=["kh133", "pre133"])
async def server(request: pytest.FixtureRequest, free_port: int) -> AsyncIterator[FoxKHServer]:
    """Midday: 6 kW PV, 1 kW load, the battery taking 3 kW."""
    battery = Battery(max_charge_w=3000, max_discharge_w=2000, soc_initial=0.5)
    model = SiteModel(ConstantProfile(6000, 1000), T0, battery)
    async with FoxKHServer(model, VirtualClock(T0), port=free_port, firmware=request.param) as kh:
        yield kh


async def test_a_disconnected_bms_leaves_the_battery_unknown(server: FoxKHServer) -> None:
    clock = server.clock
    settings = {"inverter": {"port": server.port, "firmware": server.firmware}}
    link = FoxModbusConnection("fox", {"timeout_s": 1.0}, clock, settings)
    await link.open()
    ctx = _Ctx(link, clock)
    read = FoxRead(ctx, {"connection": "fox", "max_age": 0})  # type: ignore[arg-type]
    try:
        healthy = (await read.process(Message())).payload
        assert healthy["bms_connected"] and healthy["soc"] == 0.5
        assert healthy["battery_w"] == 3000 and healthy["battery_temp_c"] == pytest.approx(25)

        server.disconnect_bms()
        lost = (await read.process(Message())).payload
        assert lost["bms_connected"] is False
        battery = ("soc", "soc_pct", "battery_w", "battery_temp_c", "battery_energy_kwh")
        assert {name: lost[name] for name in battery} == dict.fromkeys(battery)
        # what the inverter measures itself is still there
        assert (lost["pv_w"], lost["load_w"], lost["grid_w"]) == (6000, 1000, -2000)
        assert ctx.statuses[-1][0] == "BMS disconnected, grid -2000 W"
        assert ctx.globals["inverter_link"]["consecutive_errors"] == 0  # a reading, not an error

        server.reconnect_bms()
        back = (await read.process(Message())).payload
        assert back["bms_connected"] and back["soc"] == 0.5 and back["battery_w"] == 3000
        assert ctx.statuses[-1][0].startswith("SOC 50%")
    finally:
        await link.close()

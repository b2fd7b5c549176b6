"""The simulated KH misbehaving on demand: late, exceptions, nonsense, gone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException

from flowengine.clock import VirtualClock
from powermaster.sim.dispatch import WorkMode
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel

T0 = 1_748_743_200.0
UNIT = 247


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    return SiteModel(ConstantProfile(0, 1000), T0, Battery(soc_initial=0.5))


@pytest.fixture
async def server(model: SiteModel, clock: VirtualClock, free_port: int
                 ) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=free_port) as srv:
        yield srv


async def connect(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.2, retries=0)
    assert await client.connect()
    return client


async def read(client: AsyncModbusTcpClient, address: int, count: int = 1) -> list[int] | int:
    response = await client.read_holding_registers(address, count=count, device_id=UNIT)
    return response.exception_code if response.isError() else list(response.registers)


async def test_slow_replies_never_land_inside_the_timeout(server: FoxKHServer) -> None:
    client = await connect(server.port)
    try:
        assert await read(client, 31024) == [50]
        server.slow_replies(30)
        with pytest.raises(ModbusIOException, match="No response"):
            await read(client, 31024)
        server.clear_faults()
        client.close()
        client = await connect(server.port)
        assert await read(client, 31024) == [50]
    finally:
        client.close()


async def test_exception_codes_for_reads_and_writes(server: FoxKHServer, model: SiteModel
                                                    ) -> None:
    client = await connect(server.port)
    try:
        server.answer_exceptions()
        assert await read(client, 31024) == ExcCodes.DEVICE_FAILURE
        write = await client.write_register(41000, 2, device_id=UNIT)
        assert write.exception_code == ExcCodes.DEVICE_FAILURE
        assert model.settings.work_mode is WorkMode.SELF_USE  # the write did not apply
        server.answer_exceptions(ExcCodes.DEVICE_BUSY)
        assert await read(client, 41000) == ExcCodes.DEVICE_BUSY
        server.clear_faults()
        assert await read(client, 41000) == [0]
    finally:
        client.close()


@pytest.mark.parametrize("firmware", ["kh133", "pre133"])
async def test_nonsense_values_instead_of_the_models(
    model: SiteModel, clock: VirtualClock, free_port: int, firmware: str
) -> None:
    async with FoxKHServer(model, clock, port=free_port, firmware=firmware) as server:
        client = await connect(server.port)
        try:
            server.serve_nonsense()
            assert await read(client, 31024) == [250]  # SOC 250 %
            assert await read(client, 31022) == [0x10000 - 32000]  # charging 32 kW
            if firmware == "kh133":
                assert await read(client, 39279, 2) == [0x000F, 0x4240]  # PV 1 MW
            assert not (await client.write_register(44002, 100, device_id=UNIT)).isError()
            assert model.remote.setpoint_w == 100  # writes still reach the inverter
            server.serve_nonsense({31024: 0xFFFF})
            assert await read(client, 31024) == [0xFFFF]
            server.clear_faults()
            assert await read(client, 31024) == [50]
        finally:
            client.close()


async def test_a_stopped_link_leaves_the_inverter_running_its_watchdog(
    server: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    client = await connect(server.port)
    for address, value in ((41000, 0), (44001, 60), (44000, 1), (44002, 0x10000 - 3000)):
        assert not (await client.write_register(address, value, device_id=UNIT)).isError()
    client.close()
    await server.stop_serving()
    assert not server.running
    refused = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=0.2, retries=0)
    assert not await refused.connect()
    refused.close()
    await clock.advance(30)
    assert model.remote.enabled and model.flows().battery_w == 3000
    await clock.advance(60)  # nobody can feed the watchdog: the inverter hands itself back
    assert model.time == clock.time()
    assert not model.remote.enabled and model.settings.work_mode is WorkMode.SELF_USE
    assert model.flows().battery_w == -1000  # self-use: the battery serves the house
    await server.resume_serving()
    client = await connect(server.port)
    try:
        assert await read(client, 44000) == [0]
    finally:
        client.close()

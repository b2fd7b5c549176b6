"""The simulated KH misbehaving on demand: late, exceptions, nonsense, gone; and a real
KH's quirks: 44000 reading 0, a clamped setpoint, lagging readbacks, slow or refused writes."""

from __future__ import annotations

import asyncio
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
async def server(
    model: SiteModel, clock: VirtualClock, free_port: int
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


async def test_exception_codes_for_reads_and_writes(server: FoxKHServer, model: SiteModel) -> None:
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


# -- a real KH's quirks (protocols.md §1.6, foxess_modbus) --

CHARGE_3000 = ((41000, 0), (44001, 60), (44000, 1), (44002, 0x10000 - 3000))


async def write(client: AsyncModbusTcpClient, pairs: tuple[tuple[int, int], ...]) -> None:
    for address, value in pairs:
        assert not (await client.write_register(address, value, device_id=UNIT)).isError()


async def test_remote_enable_can_read_0_while_the_setpoint_is_honoured(
    server: FoxKHServer, model: SiteModel
) -> None:
    client = await connect(server.port)
    try:
        server.hide_remote_enable()
        await write(client, CHARGE_3000)
        assert await read(client, 44000, 3) == [0, 60, 0x10000 - 3000]
        assert model.remote.enabled and model.flows().battery_w == 3000  # charging as told
        assert await read(client, 31022) == [0x10000 - 3000]
        server.clear_faults()
        assert await read(client, 44000) == [1]
    finally:
        client.close()


async def test_a_setpoint_past_the_rating_is_held_and_read_back_clamped(
    server: FoxKHServer, model: SiteModel
) -> None:
    client = await connect(server.port)
    try:
        server.clamp_setpoint(2000)
        await write(client, CHARGE_3000)
        assert await read(client, 44002) == [0x10000 - 2000]
        assert model.remote.setpoint_w == -2000 and model.flows().battery_w == 2000
        await write(client, ((44002, 1500),))  # within the rating: as written
        assert await read(client, 44002) == [1500]
    finally:
        client.close()


async def test_readbacks_lag_writes_on_the_clock_while_the_writes_act_at_once(
    server: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    client = await connect(server.port)
    try:
        server.lag_readbacks(5)
        await write(client, CHARGE_3000)
        assert await read(client, 44000, 3) == [0, 60, 0]  # the words before the writes
        assert model.remote.enabled and model.flows().battery_w == 3000
        await clock.advance(3)
        await write(client, ((44002, 0x10000 - 2000),))  # again while lagging: the oldest word
        await clock.advance(2)
        assert await read(client, 44000, 3) == [1, 60, 0]
        await clock.advance(3)
        assert await read(client, 44002) == [0x10000 - 2000]
    finally:
        client.close()


async def test_slow_writes_are_answered_late_in_wall_time_and_only_where_asked(
    server: FoxKHServer, model: SiteModel
) -> None:
    server.slow_writes(0.3, [46616, 46617])
    loop = asyncio.get_running_loop()
    impatient = await connect(server.port)  # 0.2 s
    try:
        with pytest.raises(ModbusIOException):
            await impatient.write_registers(46616, [0, 1500], device_id=UNIT)
    finally:
        impatient.close()
    patient = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2, retries=0)
    assert await patient.connect()
    try:
        began = loop.time()
        assert not (await patient.write_registers(46616, [0, 1200], device_id=UNIT)).isError()
        assert loop.time() - began >= 0.3
        assert model.settings.export_limit_w == 1200
        began = loop.time()
        await write(patient, ((41000, 2),))
        assert loop.time() - began < 0.3  # other registers answer at once
    finally:
        patient.close()


async def test_refused_writes_answer_the_exception_and_change_nothing(
    server: FoxKHServer, model: SiteModel
) -> None:
    client = await connect(server.port)
    try:
        server.refuse_writes([46616, 46617])
        refused = await client.write_registers(46616, [0, 1500], device_id=UNIT)
        assert refused.exception_code == ExcCodes.DEVICE_FAILURE
        assert (await client.write_register(46617, 9, device_id=UNIT)).exception_code == 4
        assert model.settings.export_limit_w is None
        assert await read(client, 46616, 2) == [0, 5000]  # reads still answer
        await write(client, ((44001, 30),))  # the rest of the device takes writes
        assert model.remote.timeout_s == 30
    finally:
        client.close()

"""The simulated KH over real Modbus TCP, checked with a plain pymodbus client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient

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
    # Night, battery at its floor: the house imports 1850 W (the §1.3 worked example).
    return SiteModel(ConstantProfile(0, 1850), T0, Battery(soc_initial=0.1, soc_min=0.1))


async def _server(
    model: SiteModel, clock: VirtualClock, port: int, firmware: str
) -> AsyncIterator[AsyncModbusTcpClient]:
    async with FoxKHServer(model, clock, port=port, firmware=firmware):
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        assert await client.connect()
        try:
            yield client
        finally:
            client.close()


@pytest.fixture
async def kh133(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[AsyncModbusTcpClient]:
    async for client in _server(model, clock, free_port, "kh133"):
        yield client


@pytest.fixture
async def pre133(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[AsyncModbusTcpClient]:
    async for client in _server(model, clock, free_port, "pre133"):
        yield client


async def read(
    client: AsyncModbusTcpClient, address: int, count: int = 1, fc: int = 3, unit: int = UNIT
) -> list[int] | int:
    """Registers, or the exception code."""
    call = client.read_holding_registers if fc == 3 else client.read_input_registers
    response = await call(address, count=count, device_id=unit)
    return response.exception_code if response.isError() else list(response.registers)


async def test_fc3_and_fc4_both_answer_telemetry(kh133: AsyncModbusTcpClient) -> None:
    holding = await read(kh133, 31000, 28, fc=3)
    assert holding == await read(kh133, 31000, 28, fc=4)
    assert isinstance(holding, list)
    assert holding[24] == 10  # 31024 SOC %
    assert holding[27] == 3  # 31027 On Grid


@pytest.mark.parametrize(
    ("address", "count"),
    [
        (41001, 1),
        (41006, 1),
        (41012, 1),
        (41019, 1),
        (43999, 1),
        (31055, 1),
        (31999, 1),
        (31050, 10),
        (41010, 3),
    ],
)
async def test_invalid_ranges_answer_exception_02(
    kh133: AsyncModbusTcpClient, address: int, count: int
) -> None:
    assert await read(kh133, address, count) == 2


async def test_settings_read_one_register_per_request_only(kh133: AsyncModbusTcpClient) -> None:
    assert await read(kh133, 41000, 2) == 2
    assert await read(kh133, 41007, 5) == 2
    assert await read(kh133, 41000, 1, fc=4) == 2  # settings are holding registers
    singles = [await read(kh133, a) for a in (41000, 41007, 41008, 41009, 41010, 41011)]
    assert singles == [[0], [500], [500], [10], [100], [10]]


async def test_writes_fc6_only_and_validated(kh133: AsyncModbusTcpClient, model: SiteModel) -> None:
    assert not (await kh133.write_register(41000, 2, device_id=UNIT)).isError()
    assert model.settings.work_mode is WorkMode.BACK_UP
    assert (await kh133.write_register(41000, 4, device_id=UNIT)).exception_code == 3
    assert (await kh133.write_registers(44000, [1], device_id=UNIT)).exception_code == 1
    assert (await kh133.write_register(31024, 50, device_id=UNIT)).exception_code == 2
    assert (await kh133.write_register(41001, 1, device_id=UNIT)).exception_code == 2
    echo = await kh133.write_register(44002, 0xF448, device_id=UNIT)
    assert echo.registers == [0xF448]
    assert model.remote.setpoint_w == -3000


async def test_only_unit_247_answers(kh133: AsyncModbusTcpClient) -> None:
    assert await read(kh133, 31024, unit=1) == 0x0B
    assert await read(kh133, 31024, unit=0) == 0x0B
    assert await read(kh133, 31024) == [10]


async def test_kh133_words_i32_high_first_and_signs(
    kh133: AsyncModbusTcpClient, model: SiteModel
) -> None:
    assert await read(kh133, 39168, 2) == [0xFFFF, 0xF8C6]  # -1850: importing on >= 1.33
    assert await read(kh133, 31016) == [1850]
    model.profile = ConstantProfile(6240, 0)
    model.battery = Battery(max_charge_w=1240, soc_initial=0.1)
    assert await read(kh133, 39279, 4) == [0x0000, 0x0C30, 0x0000, 0x0C30]  # 3120 W each
    assert await read(kh133, 31022) == [0xFB28]  # -1240: charging
    assert await read(kh133, 39168, 2) == [0, 5000]  # export, at the 5 kW export limit


async def test_kh133_info_energy_and_faults(
    kh133: AsyncModbusTcpClient, model: SiteModel, clock: VirtualClock
) -> None:
    model_words = await read(kh133, 30000, 16)
    assert isinstance(model_words, list)
    assert bytes(b for w in model_words for b in w.to_bytes(2, "big")).rstrip(b"\0") == b"KH10.5"
    assert await read(kh133, 36001, 3) == [0x0150, 0x0130, 0x0150]
    assert len(await read(kh133, 37617, 16)) == 16  # type: ignore[arg-type]
    await clock.advance(3600)
    energy = await read(kh133, 32012, 3)
    assert energy == [0, 18, 18]  # 1.85 kWh imported -> 18 x 0.1 kWh, total and today
    model.set_grid_lost(True, clock.time())
    assert await read(kh133, 39067) == [1 << 7]
    assert await read(kh133, 31027) == [4]


async def test_pre133_map(pre133: AsyncModbusTcpClient) -> None:
    assert await read(pre133, 31049, 2) == [0, 1850]  # + = import on pre-1.33
    assert await read(pre133, 31053, 2) == [0, 1850]
    assert await read(pre133, 30016, 3) == [0x0128, 0x0120, 0x0126]
    assert await read(pre133, 39168, 2) == 2
    assert await read(pre133, 36001) == 2


async def test_kh133_export_limit_is_an_i32_of_two_fc6_words_or_one_fc16_pair(
    kh133: AsyncModbusTcpClient, model: SiteModel
) -> None:
    assert await read(kh133, 46616, 2) == [0, 5000]  # the grid's until written
    assert await read(kh133, 46616, 2, fc=4) == 2  # a holding register
    assert not (await kh133.write_register(46617, 1500, device_id=UNIT)).isError()
    assert model.settings.export_limit_w == 1500 and model.limits().export_w == 1500
    assert not (await kh133.write_register(46616, 1, device_id=UNIT)).isError()
    assert await read(kh133, 46616, 2) == [1, 1500]  # 67036 W: above the grid's 5000
    assert model.limits().export_w == 5000
    assert (await kh133.write_register(46616, 0x8000, device_id=UNIT)).exception_code == 3
    assert await read(kh133, 46616, 2) == [1, 1500]
    assert not (await kh133.write_registers(46616, [0, 2500], device_id=UNIT)).isError()
    assert model.settings.export_limit_w == 2500  # both words in one request (foxess_modbus)
    assert (await kh133.write_registers(46616, [0xFFFF, 0], device_id=UNIT)).exception_code == 3
    assert (await kh133.write_registers(46617, [9], device_id=UNIT)).exception_code == 1
    assert (await kh133.write_registers(46616, [0], device_id=UNIT)).exception_code == 1
    assert await read(kh133, 46616, 2) == [0, 2500]


async def test_pre133_has_no_export_limit_register(pre133: AsyncModbusTcpClient) -> None:
    assert await read(pre133, 46616, 2) == 2
    assert (await pre133.write_register(46617, 0, device_id=UNIT)).exception_code == 2


async def test_watchdog_drops_remote_control_to_the_41000_mode(
    kh133: AsyncModbusTcpClient, model: SiteModel, clock: VirtualClock
) -> None:
    for address, value in ((41000, 2), (44001, 60), (44000, 1), (44002, 0xF448)):
        assert not (await kh133.write_register(address, value, device_id=UNIT)).isError()
    await clock.advance(59)
    assert await read(kh133, 44000, 3) == [1, 60, 0xF448]
    assert await read(kh133, 31022) == [0xF448]  # charging 3000 W
    await clock.advance(1)
    assert await read(kh133, 44000) == [0]
    assert await read(kh133, 41000) == [2]
    assert await read(kh133, 31022) == [0]  # Back-up at night: held


async def test_background_tick_keeps_the_model_current(
    kh133: AsyncModbusTcpClient, model: SiteModel, clock: VirtualClock
) -> None:
    await clock.advance(600)
    assert model.time == clock.time()


async def test_stop_and_restart_on_the_same_port(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    server = FoxKHServer(model, clock, port=free_port)
    for _ in range(2):
        await server.start()
        client = AsyncModbusTcpClient("127.0.0.1", port=free_port, timeout=2, retries=0)
        assert await client.connect()
        assert await read(client, 31024) == [10]
        client.close()
        await server.stop()
        assert not server.running


async def test_every_write_request_is_counted_as_it_arrives_refused_ones_too(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    """What shadow mode's 'nothing written' is checked by: writes counted, reads not."""
    async with FoxKHServer(model, clock, port=free_port) as kh:
        client = AsyncModbusTcpClient("127.0.0.1", port=free_port, timeout=2, retries=0)
        assert await client.connect()
        try:
            assert isinstance(await read(client, 31024), list)
            assert kh.writes_received == 0
            assert not (await client.write_register(41000, 1, device_id=UNIT)).isError()
            assert (await client.write_register(41001, 1, device_id=UNIT)).isError()
            await client.write_registers(44000, [1, 60], device_id=UNIT)  # FC16
            assert kh.writes_received == 3
            assert isinstance(await read(client, 41000), list)
            assert kh.writes_received == 3
        finally:
            client.close()

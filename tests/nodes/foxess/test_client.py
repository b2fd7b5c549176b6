"""FoxKHClient against the simulated KH over real TCP, on both firmware maps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from flowengine.message import Message
from flowengine.node import Connection, Node
from nodes.foxess import CONNECTION_TYPES, NODE_TYPES
from nodes.foxess.client import FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxCommand, FoxRead, FoxWatchdog
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel

T0 = 1_748_743_200.0


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Midday: 6 kW PV, 1 kW load, battery takes 3 kW, 2 kW exported."""
    battery = Battery(
        max_charge_w=3000,
        max_discharge_w=2000,
        soc_initial=0.5,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
    )
    return SiteModel(ConstantProfile(6000, 1000), T0, battery)


@pytest.fixture(params=["kh133", "pre133"])
def firmware(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(
    model: SiteModel, clock: VirtualClock, free_port: int, firmware: str
) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=free_port, firmware=firmware) as srv:
        yield srv


@pytest.fixture
async def client(server: FoxKHServer, clock: VirtualClock) -> AsyncIterator[FoxKHClient]:
    fox = FoxKHClient(
        "127.0.0.1",
        server.port,
        firmware=server.firmware,
        timeout_s=1.0,
        clock=clock,
        watchdog_s=60,
    )
    assert await fox.connect()
    yield fox
    fox.close()


@pytest.mark.parametrize("function", ["holding", "input"])
async def test_telemetry_signs_match_the_model(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel, function: str
) -> None:
    fox = FoxKHClient(
        "127.0.0.1",
        server.port,
        firmware=server.firmware,
        register_function=function,
        timeout_s=1.0,
        clock=clock,
    )
    await fox.connect()
    try:
        day = await fox.read_telemetry()
        assert (day.pv_w, day.load_w, day.battery_w, day.grid_w) == (6000, 1000, 3000, -2000)
        assert (day.soc, day.soc_pct) == (0.5, 50)
        assert day.timestamp == clock.time()
        assert day.inverter_state == 3 and not day.grid_lost
        assert day.work_mode == 0 and not day.remote_enabled
        model.profile = ConstantProfile(0, 2500)
        night = await fox.read_telemetry()
        assert (night.pv_w, night.load_w, night.battery_w, night.grid_w) == (0, 2500, -2000, 500)
        assert night.battery_temp_c == pytest.approx(25.0)
    finally:
        fox.close()


async def test_energy_totals_in_kwh(client: FoxKHClient, clock: VirtualClock) -> None:
    await clock.advance(3600)
    energy = (await client.read_telemetry()).energy_kwh
    assert energy["pv"] == pytest.approx(6.0)
    assert energy["grid_export"] == pytest.approx(2.0)
    assert energy["battery_charge"] == pytest.approx(3.0)
    assert energy["load"] == pytest.approx(1.0)
    assert set(energy) == {
        "pv",
        "battery_charge",
        "battery_discharge",
        "grid_export",
        "grid_import",
        "inverter_output",
        "inverter_input",
        "load",
    }


async def test_force_charge_raises_soc_and_verifies(
    client: FoxKHClient, model: SiteModel, clock: VirtualClock
) -> None:
    model.profile = ConstantProfile(0, 500)
    result = await client.command("force_charge", 2000)
    assert result.verified, result.mismatches
    assert result.setpoint_w == -2000
    assert result.readback == {41000: 0, 44000: 1, 44001: 60, 44002: 0xF830}  # self-use fallback
    before = model.soc
    for _ in range(3):  # feed the watchdog every 20 s for a minute
        await clock.advance(20)
        assert (await client.refresh_watchdog()) is not None
    after = await client.read_telemetry()
    assert after.remote_enabled and after.remote_setpoint_w == -2000
    assert after.battery_w == 2000 and after.grid_w == 2500
    assert model.soc == pytest.approx(before + 2000 * 60 / 3600 / 10_000)


async def test_force_discharge_sets_the_configured_fallback_first(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = FoxKHClient(
        "127.0.0.1",
        server.port,
        firmware=server.firmware,
        timeout_s=1.0,
        clock=clock,
        fallback_mode="feed_in_first",
    )
    try:
        result = await fox.command("force_discharge", 1500)
        assert result.verified and result.readback[41000] == 1
        assert model.remote.setpoint_w == 1500
    finally:
        fox.close()


async def test_lost_watchdog_returns_to_the_fallback_work_mode(
    client: FoxKHClient, model: SiteModel, clock: VirtualClock
) -> None:
    model.profile = ConstantProfile(0, 1000)
    await client.command("force_charge", 3000)
    await clock.advance(59)
    assert (await client.read_telemetry()).remote_enabled
    await clock.advance(2)
    lost = await client.read_telemetry()
    assert not lost.remote_enabled
    assert lost.work_mode == 0  # Self Use, the configured fallback: the battery serves the house
    assert lost.battery_w == -1000 and lost.grid_w == 0
    late = await client.refresh_watchdog()
    assert late is not None and not late.verified
    assert late.mismatches == ["register 44000: expected 1, read back 0"]


async def test_self_use_leaves_remote_control(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    fox = FoxKHClient(
        "127.0.0.1",
        server.port,
        firmware=server.firmware,
        timeout_s=1.0,
        clock=clock,
        fallback_mode="back_up",
    )
    try:
        await fox.command("hold")
        assert model.remote.enabled and model.settings.work_mode == 2
        result = await fox.command("self_use")
        assert result.verified and result.written == {44000: 0, 41000: 0}
        assert not model.remote.enabled and model.settings.work_mode == 0
        assert await fox.refresh_watchdog() is None
    finally:
        fox.close()


async def test_zero_export_sets_ac_output_to_the_load(
    client: FoxKHClient, model: SiteModel
) -> None:
    model.soc = 1.0  # battery full: without the command the surplus would be exported
    result = await client.command("self_use_zero_export")
    assert result.setpoint_w == 1000 and result.readback[41000] == 0
    telemetry = await client.read_telemetry()
    assert telemetry.grid_w == 0 and telemetry.pv_w == 1000  # the rest is curtailed


async def test_read_settings_one_register_at_a_time(client: FoxKHClient) -> None:
    settings = await client.read_settings()
    assert settings.work_mode == 0 and settings.max_charge_current_a == 50.0
    assert (settings.min_soc_pct, settings.max_soc_pct, settings.min_soc_on_grid_pct) == (
        10,
        100,
        10,
    )


async def test_versions_decode_as_hex(client: FoxKHClient) -> None:
    info = await client.read_versions()
    assert info["model"] == "KH10.5"
    assert info["manager"] in ("1.50", "1.26")


async def test_device_exception_names_the_register(
    server: FoxKHServer, clock: VirtualClock
) -> None:
    fox = FoxKHClient("127.0.0.1", server.port, unit_id=1, timeout_s=1.0, clock=clock)
    await fox.connect()
    try:
        with pytest.raises(InverterError) as err:
            await fox.read_settings()
        assert err.value.register == 41000
    finally:
        fox.close()
    with pytest.raises(InverterError, match="unknown mode"):
        await fox.command("force_everything")


async def test_unreachable_inverter_does_not_raise_on_open(
    free_port: int, clock: VirtualClock
) -> None:
    fox = FoxKHClient("127.0.0.1", free_port, timeout_s=1.0, clock=clock)
    assert await fox.connect() is False
    assert not fox.connected
    with pytest.raises(InverterError, match="not connected"):
        await fox.read_telemetry()
    fox.close()


async def test_server_restart_under_a_connected_client(
    client: FoxKHClient, server: FoxKHServer, clock: VirtualClock
) -> None:
    assert (await client.read_telemetry()).soc_pct == 50
    await server.stop()
    with pytest.raises(InverterError):
        await client.read_telemetry()
    with pytest.raises(InverterError):  # still down: the retry fails and backs off
        await client.read_telemetry()
    await server.start()
    with pytest.raises(InverterError, match="not connected"):  # inside the backoff
        await client.read_telemetry()
    await clock.advance(5)
    assert (await client.read_telemetry()).soc_pct == 50
    assert client.connected


# -- connection and nodes --


class _Scope(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = value

    def peek(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)


class _Ctx:
    """The slice of NodeContext the foxess nodes use."""

    def __init__(self, connection: Any, clock: Any = None) -> None:
        self._connection = connection
        self.clock = clock
        self.globals = _Scope()
        self.statuses: list[tuple[str, str]] = []

    def connection(self, connection_id: str) -> Any:
        assert connection_id == "fox"
        return self._connection

    def status(self, text: str, state: str = "ok") -> None:
        self.statuses.append((text, state))


def test_exports_and_schema() -> None:
    assert [c.type_name for c in CONNECTION_TYPES] == ["foxess.modbus"]
    assert {n.type_name for n in NODE_TYPES} == {
        "foxess.read",
        "foxess.command",
        "foxess.watchdog",
        "foxess.modbus",
        "section inverter",
    }
    for node in [n for n in NODE_TYPES if isinstance(n, type) and issubclass(n, Node)]:
        assert issubclass(node, (Node, Connection))
        prop = node.config_schema["properties"]["connection"]
        assert prop["x-connection"] == "foxess.modbus"


def test_connection_config_falls_back_to_site_settings(clock: VirtualClock) -> None:
    conn = FoxModbusConnection(
        "fox",
        {"port": 1502},
        clock,
        {"inverter": {"host": "10.0.0.9", "port": 502, "watchdog_s": 30}},
    )
    assert conn.option("port") == 1502
    assert conn.option("host") == "10.0.0.9"
    assert conn.option("watchdog_s") == 30
    assert conn.option("unit_id") == 247
    assert conn.client.watchdog_s == 30


async def test_nodes_read_command_and_feed_the_watchdog(
    server: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    conn = FoxModbusConnection(
        "fox",
        {"port": server.port, "timeout_s": 1.0},
        clock,
        {"inverter": {"firmware": server.firmware}},
    )
    await conn.open()
    try:
        ctx = _Ctx(conn, clock)
        out = await FoxRead(ctx, {"connection": "fox"}).process(Message())  # type: ignore[arg-type]
        assert out.payload["battery_w"] == 3000 and out.payload["grid_w"] == -2000
        command = FoxCommand(ctx, {"connection": "fox"})  # type: ignore[arg-type]
        msg = Message({"mode": "force_discharge", "power_w": 2500})
        out = await command.process(msg)
        assert out.payload["verified"] and out.payload["setpoint_w"] == 2500
        with pytest.raises(InverterError):
            await command.process(Message({"mode": "turbo"}))
        # The keeper feeds while the control tick's decision is fresh...
        ctx.globals.set("decision", {"at": clock.time()})
        watchdog = FoxWatchdog(ctx, {"connection": "fox", "hold_for": 300})  # type: ignore[arg-type]
        keeper = asyncio.create_task(watchdog.process(Message()))
        await clock.advance(250)
        assert model.remote.enabled and not keeper.done()
        # ...and once control falls silent it stops, so the inverter's watchdog hands back.
        await clock.advance(200)
        assert keeper.done()
        assert keeper.result().payload["stopped"].startswith("control silent")
        assert keeper.result().payload["refreshes"] >= 10
        await clock.advance(120)
        assert not model.remote.enabled
    finally:
        await conn.close()

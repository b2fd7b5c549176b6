"""The client over every transport a KH's gateway speaks, against the simulator listening so.

Real sockets each time: Modbus TCP, RTU frames over TCP, Modbus UDP, and RTU on a
serial line (a socat pty pair stands in for the RS485 adapter).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flowengine.clock import VirtualClock
from flowengine.errors import InvalidFlows
from nodes.foxess.client import FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.transport import MAX_READ_REGISTERS, SerialLine, Transport
from powermaster.config import load_site_config
from powermaster.service import Options, Service
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, SiteModel
from tests.nodes.foxess.drive import drive

T0 = 1_748_743_200.0
NETWORK = ("tcp", "rtu_over_tcp", "udp")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Night: no PV, 500 W load, the battery half full."""
    battery = Battery(
        max_charge_w=3000,
        max_discharge_w=3000,
        soc_initial=0.5,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
    )
    return SiteModel(ConstantProfile(0, 500), T0, battery)


async def charge_through(fox: FoxKHClient, model: SiteModel, clock: VirtualClock) -> None:
    """Read, force a 2 kW charge, and see the simulated battery take it for a minute."""
    night = await fox.read_telemetry()
    assert (night.soc, night.load_w, night.battery_w, night.bms_connected) == (0.5, 500, -500, True)
    result = await fox.command("force_charge", 2000)
    assert result.verified, result.mismatches
    await clock.advance(20)
    assert (await fox.refresh_watchdog(force=True)).verified  # type: ignore[union-attr]
    await clock.advance(40)
    charging = await fox.read_telemetry()
    assert charging.remote_enabled and charging.remote_setpoint_w == -2000
    assert (charging.battery_w, charging.grid_w) == (2000, 2500)
    assert model.soc == pytest.approx(0.5 + 2000 * 60 / 3600 / 10_000)


@pytest.mark.parametrize("transport", NETWORK)
async def test_each_gateway_transport_reads_and_forces_a_charge(
    transport: str, model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    async with FoxKHServer(model, clock, port=free_port, transport=transport):
        fox = FoxKHClient(
            "127.0.0.1", free_port, transport=transport, timeout_s=1.0, clock=clock, watchdog_s=60
        )
        try:
            assert await fox.connect()
            await charge_through(fox, model, clock)
            assert (await fox.read_versions())["model"] == "KH10.5"
        finally:
            fox.close()


@pytest.mark.parametrize(("client", "server"), [("tcp", "rtu_over_tcp"), ("rtu_over_tcp", "tcp")])
async def test_the_wrong_framing_gets_no_reading_and_the_error_names_the_likely_cause(
    client: str, server: str, model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    async with FoxKHServer(model, clock, port=free_port, transport=server):
        fox = FoxKHClient("127.0.0.1", free_port, transport=client, timeout_s=0.2, clock=clock)
        try:
            await fox.connect()
            with pytest.raises(InverterError, match="no answer to register 31006: ") as failed:
                await fox.read_telemetry()
            said = str(failed.value)
            assert f"nothing has answered on {client} 127.0.0.1:{free_port} yet" in said
            assert f"inverter.transport is {client}; try {server}" in str(failed.value)
            assert "inverter.unit_id (247)" in str(failed.value)
        finally:
            fox.close()


async def test_a_link_that_answered_before_does_not_blame_the_transport(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    server = FoxKHServer(model, clock, port=free_port)
    async with server:
        fox = FoxKHClient("127.0.0.1", free_port, timeout_s=0.2, clock=clock)
        try:
            await fox.read_telemetry()
            server.slow_replies(5)  # a gateway gone quiet after answering: not the framing
            with pytest.raises(InverterError, match="communication failed") as failed:
                await drive(clock, fox.read_telemetry())
            assert "nothing has answered" not in str(failed.value)
        finally:
            server.clear_faults()
            fox.close()


@pytest.mark.parametrize("limit", [8, 20])
async def test_reads_keep_to_max_read_registers(
    limit: int, model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    server = FoxKHServer(model, clock, port=free_port)
    async with server:
        narrow = FoxKHClient("127.0.0.1", free_port, clock=clock, max_read_registers=limit)
        wide = FoxKHClient("127.0.0.1", free_port, clock=clock, max_read_registers=125)
        try:
            telemetry = (await narrow.read_telemetry()).as_dict()
            versions = await narrow.read_versions()  # the model string is 16 registers
            assert max(server.read_sizes) == limit  # wider blocks were split, not dropped
            server.read_sizes.clear()
            assert (await wide.read_telemetry()).as_dict() == telemetry
            assert await wide.read_versions() == versions
            assert max(server.read_sizes) > limit
        finally:
            narrow.close()
            wide.close()


def test_max_read_defaults_to_the_transports() -> None:
    # foxess_modbus: "network_other" 8 (TCP, UDP, RTU over TCP), "serial_other" 20.
    assert MAX_READ_REGISTERS == {"tcp": 8, "rtu_over_tcp": 8, "udp": 8, "serial": 20}
    for transport in NETWORK:
        assert FoxKHClient("127.0.0.1", transport=transport).max_read_registers == 8
    line = SerialLine("/dev/ttyUSB0")
    assert FoxKHClient("", transport="serial", serial=line).max_read_registers == 20
    assert FoxKHClient("127.0.0.1", max_read_registers=100).max_read_registers == 100


def test_the_connection_takes_transport_and_line_from_the_site(clock: VirtualClock) -> None:
    serial = {"transport": "serial", "serial": {"port": "/dev/ttyUSB0"}}
    conn = FoxModbusConnection("fox", {}, clock, {"inverter": serial})
    route = conn.client.route
    assert route.transport is Transport.SERIAL and str(route) == "serial /dev/ttyUSB0"
    assert route.serial == SerialLine("/dev/ttyUSB0", 9600, 8, "N", 1)  # the KH's 9600 8N1
    assert conn.client.max_read_registers == 20
    site = {"inverter": {"transport": "udp", "host": "10.0.0.9", "max_read_registers": 100}}
    udp = FoxModbusConnection("fox", {"transport": "rtu_over_tcp"}, clock, site).client
    assert str(udp.route) == "rtu_over_tcp 10.0.0.9:502"  # the flow's key over the site's
    assert udp.max_read_registers == 100
    with pytest.raises(ValueError, match=r"serial\.port"):
        FoxKHClient("", transport="serial")
    with pytest.raises(ValueError):
        FoxKHClient("127.0.0.1", transport="modbus_over_pigeon")


def site_file(tmp_path: Path, inverter: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text("inverter:\n" + inverter)
    return path


def test_a_serial_transport_without_its_line_is_refused_where_written(tmp_path: Path) -> None:
    serial = "  transport: serial\n"
    with pytest.raises(InvalidFlows, match=r"site\.yaml:2:3: missing key 'serial'"):
        load_site_config(site_file(tmp_path, serial))
    odd = serial + "  serial: {port: /dev/ttyUSB0, parity: X}\n"
    with pytest.raises(InvalidFlows, match=r"yaml:3:40: 'inverter\.serial\.parity' must be one of"):
        load_site_config(site_file(tmp_path, odd))
    line = serial + "  serial: {port: /dev/ttyUSB0, baudrate: 19200}\n"
    config = load_site_config(site_file(tmp_path, line))
    assert config["inverter"]["transport"] == "serial"
    assert config["inverter"]["serial"] == {"port": "/dev/ttyUSB0", "baudrate": 19200}
    assert load_site_config(site_file(tmp_path, "  port: 502\n"))["inverter"]["transport"] == "tcp"


@pytest.mark.parametrize(
    ("inverter", "expected"),
    [
        (None, {"transport": "tcp", "host": "127.0.0.1", "port": 5020}),  # the simulator
        ("192.0.2.10:8899", {"transport": "rtu_over_tcp", "host": "192.0.2.10", "port": 8899}),
        (
            "/dev/ttyUSB0",
            {"transport": "serial", "serial": {"port": "/dev/ttyUSB0", "baudrate": 19200}},
        ),
    ],
)
def test_the_command_line_names_the_inverter(
    tmp_path: Path, inverter: str | None, expected: dict[str, object]
) -> None:
    config = site_file(
        tmp_path,
        "  transport: rtu_over_tcp\n  host: 10.1.1.1\n  port: 502\n"
        "  serial: {port: /dev/ttyS0, baudrate: 19200}\n",
    )
    options = Options(config=config, data_dir=tmp_path / "data", inverter=inverter, ui=False)
    site = Service(options, clock=VirtualClock(T0)).settings["inverter"]
    assert {key: site[key] for key in expected} == expected


# -- serial: RTU on a pty pair, socat carrying the bytes between the two ends --


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, str]]:
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed: no pty pair to stand in for the RS485 adapter")
    proc = subprocess.Popen(
        [socat, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    ends: list[str] = []
    try:
        for line in proc.stderr:  # socat names each end as it makes it, then waits
            if found := re.search(r"PTY is (\S+)", line):
                ends.append(found.group(1))
            if len(ends) == 2:
                break
        assert len(ends) == 2, "socat made no pty pair"
        yield ends[0], ends[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()


@pytest.fixture
async def serial_kh(
    pty_pair: tuple[str, str], model: SiteModel, clock: VirtualClock
) -> AsyncIterator[str]:
    async with FoxKHServer(model, clock, transport="serial", device=pty_pair[0]):
        yield pty_pair[1]


async def test_a_serial_line_reads_and_forces_a_charge(
    serial_kh: str, model: SiteModel, clock: VirtualClock
) -> None:
    settings = {
        "inverter": {"transport": "serial", "serial": {"port": serial_kh}, "timeout_s": 1.0}
    }
    link = FoxModbusConnection("inverter", {}, clock, settings)
    await link.open()
    try:
        assert link.connected and link.client.max_read_registers == 20
        await charge_through(link.client, model, clock)
    finally:
        await link.close()

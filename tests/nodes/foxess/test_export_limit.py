"""The export limit a command carries reaches the inverter in every mode, over real TCP:
46616/46617 on KH >= 1.33 (never 41012), zero export on firmware that has no register."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from flowengine.message import Message
from nodes.foxess.client import FoxKHClient, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxCommand
from powermaster.sim.fox_server import FoxKHServer
from powermaster.sim.site import Battery, ConstantProfile, Grid, SiteModel
from tests.nodes.foxess.test_client import _Ctx
from tests.nodes.foxess.test_read_economy import take

T0 = 1_748_743_200.0
GRID_EXPORT_W = 5000


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def model() -> SiteModel:
    """Midday, battery full: 6 kW PV, 1 kW load, 5 kW exported at the grid's limit."""
    battery = Battery(max_charge_w=3000, soc_initial=1.0)
    return SiteModel(ConstantProfile(6000, 1000), T0, battery, Grid(max_export_w=GRID_EXPORT_W))


async def _served(
    model: SiteModel, clock: VirtualClock, port: int, firmware: str
) -> AsyncIterator[FoxKHServer]:
    async with FoxKHServer(model, clock, port=port, firmware=firmware) as srv:
        yield srv


@pytest.fixture
async def kh133(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[FoxKHServer]:
    async for srv in _served(model, clock, free_port, "kh133"):
        yield srv


@pytest.fixture
async def pre133(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> AsyncIterator[FoxKHServer]:
    async for srv in _served(model, clock, free_port, "pre133"):
        yield srv


@pytest.fixture
async def fox(kh133: FoxKHServer, clock: VirtualClock) -> AsyncIterator[FoxKHClient]:
    client = _client(kh133, clock)
    yield client
    client.close()


def _client(server: FoxKHServer, clock: VirtualClock, **options: Any) -> FoxKHClient:
    options.setdefault("max_export_w", GRID_EXPORT_W)
    return FoxKHClient(
        "127.0.0.1", server.port, firmware=server.firmware, timeout_s=0.5, clock=clock, **options
    )


def _writes(kh: FoxKHServer) -> dict[tuple[int, int], int]:
    """Write requests to the export limit since the last look, by (function code, address)."""
    taken = take(kh)
    return {k: n for k, n in taken.items() if k[0] in (6, 16) and k[1] in (46616, 46617)}


def _limit_words(result: Any) -> dict[int, int]:
    return {a: v for a, v in result.written.items() if a in (46616, 46617)}


@pytest.mark.parametrize("mode", ["self_use", "self_use_zero_export", "hold", "force_charge"])
async def test_the_limit_is_written_in_every_mode_and_read_back(
    fox: FoxKHClient, model: SiteModel, mode: str
) -> None:
    result = await fox.command(mode, 1000, export_limit_w=1500)
    assert result.verified, result.mismatches
    assert _limit_words(result) == {46616: 0, 46617: 1500}  # the pair, in one FC16 write
    assert (result.readback[46616], result.readback[46617]) == (0, 1500)
    assert 41012 not in result.written and 41012 not in result.readback
    assert model.settings.export_limit_w == 1500 and model.limits().export_w == 1500


async def test_self_use_exports_no_more_than_the_limit(fox: FoxKHClient) -> None:
    assert (await fox.read_telemetry()).grid_w == -GRID_EXPORT_W
    await fox.command("self_use", export_limit_w=1500)
    telemetry = await fox.read_telemetry()
    assert not telemetry.remote_enabled and telemetry.work_mode == 0  # the inverter's own mode
    assert telemetry.grid_w == -1500 and telemetry.pv_w == 2500  # the rest is curtailed


async def test_the_same_limit_again_costs_no_write_and_none_restores_the_grids(
    fox: FoxKHClient, model: SiteModel
) -> None:
    await fox.command("self_use", export_limit_w=0)
    again = await fox.command("self_use", export_limit_w=0)
    assert again.verified and _limit_words(again) == {}
    assert 46616 not in again.readback  # remembered: not even read
    restored = await fox.command("self_use")
    assert restored.verified and _limit_words(restored) == {46616: 0, 46617: GRID_EXPORT_W}
    assert model.settings.export_limit_w == GRID_EXPORT_W
    unchanged = await fox.command("self_use")
    assert _limit_words(unchanged) == {}


async def test_no_limit_goes_above_the_grids(fox: FoxKHClient, model: SiteModel) -> None:
    await fox.command("self_use", export_limit_w=1000)
    result = await fox.command("force_discharge", 2000, export_limit_w=9000)
    assert result.verified and _limit_words(result) == {46616: 0, 46617: GRID_EXPORT_W}
    assert model.settings.export_limit_w == GRID_EXPORT_W


async def test_a_reconnect_checks_the_register_again(
    fox: FoxKHClient, kh133: FoxKHServer, model: SiteModel, clock: VirtualClock
) -> None:
    await fox.command("self_use", export_limit_w=800)
    await kh133.stop()  # the inverter restarts with its installer's limit
    model.settings.export_limit_w = None
    await kh133.start()
    for _ in range(2):
        with contextlib.suppress(InverterError):  # the first try may meet the dropped link
            await fox.command("self_use", export_limit_w=800)
            break
        await clock.advance(5)
    assert model.settings.export_limit_w == 800


async def test_a_32_bit_limit_goes_in_one_fc16_write_never_word_by_word(
    model: SiteModel, clock: VirtualClock, free_port: int
) -> None:
    kh = FoxKHServer(model, clock, port=free_port)
    kh.requests = Counter()
    async with kh:
        fox = _client(kh, clock, max_export_w=200_000)
        try:
            raised = await fox.command("self_use", export_limit_w=70_000)  # 0x0001_1170
            assert list(_limit_words(raised).items()) == [(46616, 1), (46617, 0x1170)]
            assert _writes(kh) == {(16, 46616): 1}  # both words at once: never half-written
            lowered = await fox.command("self_use", export_limit_w=4000)
            assert lowered.verified and model.settings.export_limit_w == 4000
            assert _writes(kh) == {(16, 46616): 1}
        finally:
            fox.close()


async def test_release_restores_the_grids_limit(
    kh133: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    conn = FoxModbusConnection(
        "fox",
        {"port": kh133.port, "timeout_s": 0.5},
        clock,
        {"grid": {"max_export_w": GRID_EXPORT_W}},
    )
    await conn.open()
    try:
        await conn.command("self_use_zero_export", export_limit_w=0)
        assert model.settings.export_limit_w == 0 and model.remote.enabled
        released = await conn.release()
        assert released.verified and released.written[46617] == GRID_EXPORT_W
        assert model.settings.export_limit_w == GRID_EXPORT_W and not model.remote.enabled
    finally:
        await conn.close()


async def test_without_a_grid_limit_the_register_goes_back_to_what_it_held(
    kh133: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    model.settings.export_limit_w = 3300
    fox = _client(kh133, clock, max_export_w=None)
    try:
        await fox.command("self_use", export_limit_w=100)
        assert model.settings.export_limit_w == 100
        await fox.command("self_use")
        assert model.settings.export_limit_w == 3300
    finally:
        fox.close()


async def test_the_command_node_passes_the_limit_on_and_refuses_a_negative_one(
    kh133: FoxKHServer, clock: VirtualClock, model: SiteModel
) -> None:
    conn = FoxModbusConnection(
        "fox",
        {"port": kh133.port, "timeout_s": 0.5},
        clock,
        {"grid": {"max_export_w": GRID_EXPORT_W}},
    )
    await conn.open()
    try:
        node = FoxCommand(_Ctx(conn, clock), {"connection": "fox"})  # type: ignore[arg-type]
        out = await node.process(Message({"mode": "self_use", "export_limit_w": 1200}))
        assert out.payload["verified"] and model.settings.export_limit_w == 1200
        # The hierarchy's payload names the key even without a limit: None is "no limit".
        await node.process(Message({"mode": "self_use", "export_limit_w": None}))
        assert model.settings.export_limit_w == GRID_EXPORT_W
        with pytest.raises(InverterError, match="export_limit_w"):
            await node.process(Message({"mode": "self_use", "export_limit_w": -5}))
    finally:
        await conn.close()


async def test_pre133_runs_limited_self_use_as_zero_export_and_says_so_once(
    pre133: FoxKHServer, clock: VirtualClock, model: SiteModel, caplog: pytest.LogCaptureFixture
) -> None:
    fox = _client(pre133, clock)
    try:
        with caplog.at_level(logging.WARNING, logger="nodes.foxess.client"):
            result = await fox.command("self_use", export_limit_w=1500)
            await fox.command("self_use", export_limit_w=1500)
        assert result.verified and result.mode == "self_use_zero_export"
        assert "zero export" in result.note and result.setpoint_w == 1000
        assert not any(a >= 46000 for a in (*result.written, *result.readback))
        assert sum("no export-limit register" in m for m in caplog.messages) == 1
        telemetry = await fox.read_telemetry()
        assert telemetry.remote_enabled and telemetry.grid_w == 0  # within the limit
        plain = await fox.command("self_use", export_limit_w=GRID_EXPORT_W)
        assert plain.mode == "self_use" and plain.note == "" and not model.remote.enabled
    finally:
        fox.close()

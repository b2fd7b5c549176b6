"""The simulated car on its simulated OpenEVSE: the car's days, the draw the site meets,
and the real OpenEVSE adapter driving it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from nodes.flexible import flexible_configs
from nodes.flexible.openevse import OpenEvse
from powermaster.sim.evse import SimCar, SimEvse, WithCar
from powermaster.sim.site import ConstantProfile

BNE = ZoneInfo("Australia/Brisbane")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BNE).timestamp()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_car_charges_at_home_leaves_with_what_it_holds_and_comes_back_at_30() -> None:
    clock = Clock(at("2025-03-03T17:00"))
    evse = SimEvse(SimCar(BNE), clock, voltage=230, phases=3, max_amps=16)
    evse.claim(True, 16)  # 11.04 kW from when the car comes in
    assert evse.draw_w(at("2025-03-03T17:30")) == 0  # not home yet
    assert evse.draw_w(at("2025-03-03T18:30")) == pytest.approx(11040)
    evse.advance_to(at("2025-03-03T20:00"))
    assert evse.car.soc == pytest.approx(0.3 + 11.04 * 2 * 0.9 / 60)
    evse.advance_to(at("2025-03-04T08:00"))
    (left,) = evse.car.departures
    assert left == (at("2025-03-04T07:30"), 1.0)  # full: it stopped drawing at 100 %
    assert evse.drawn_kwh == pytest.approx(0.7 * 60 / 0.9)
    evse.advance_to(at("2025-03-04T18:10"))
    assert evse.car.soc == pytest.approx(0.3 + 11.04 * (10 / 60) * 0.9 / 60)


def test_the_site_meets_the_draw_as_house_load() -> None:
    clock = Clock(at("2025-03-03T18:00"))
    evse = SimEvse(SimCar(BNE), clock, voltage=230, phases=1, max_amps=32)
    profile = WithCar(ConstantProfile(0.0, 500.0), evse)
    assert profile(at("2025-03-03T18:05")) == (0.0, 500.0)
    evse.claim(True, 10)
    assert profile(at("2025-03-03T18:10")) == (0.0, 500.0 + 2300.0)
    evse.claim(True, 5)  # under the 6 A a pilot offers: nothing
    assert profile(at("2025-03-03T18:15")) == (0.0, 500.0)


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimEvse, Clock, TestServer]]:
    clock = Clock(at("2025-03-03T19:00"))
    evse = SimEvse(SimCar(BNE), clock, voltage=230, phases=3, max_amps=16)
    server = TestServer(evse.app(), host="127.0.0.1")
    await server.start_server()
    yield evse, clock, server
    await server.close()


async def test_the_openevse_adapter_drives_it(served: tuple[SimEvse, Clock, TestServer]) -> None:
    evse, clock, server = served
    config = flexible_configs(
        {
            "flexible_loads": {
                "car": {
                    "adapter": "openevse",
                    "host": "127.0.0.1",
                    "port": server.port,
                    "max_w": 11040,
                    "min_w": 4140,
                    "phases": 3,
                    "battery_kwh": 60,
                    "target": {"soc": 0.8, "by": "07:30"},
                }
            }
        }
    )["car"]
    async with aiohttp.ClientSession() as session:
        adapter = OpenEvse(config, session)
        reading = await adapter.read()
        assert reading.plugged is True and reading.power_w == 0 and reading.soc == 0.3
        assert await adapter.set_power(7000) == pytest.approx(10 * 230 * 3)
        assert evse.amps == 10 and evse.active
        clock.t += 600
        reading = await adapter.read()
        assert reading.power_w == pytest.approx(6900)
        assert reading.soc == pytest.approx(0.3 + 6.9 / 6 * 0.9 / 60, abs=0.006)
        assert await adapter.set_power(0) == 0
        assert not evse.active and evse.draw_w(clock.t) == 0

"""evcc's REST API as the car's driver, against a local evcc answering as evcc does."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from nodes.flexible.device import ChargerReading, ChargerUnavailable
from nodes.flexible.evcc import Evcc
from tests.nodes.flexible.conftest import flex
from tests.nodes.flexible.fake_evcc import FakeEvcc
from tests.nodes.loads.conftest import unused_port


def charger(server: FakeEvcc, session: aiohttp.ClientSession, **raw: Any) -> Evcc:
    settings = {"url": server.url, "min_w": 1380, "voltage": 230, **raw}
    return Evcc(flex(adapter="evcc", **settings), session)


@pytest.mark.parametrize("legacy", [False, True], ids=["bare", "result-wrapped"])
async def test_read_maps_the_loadpoint(
    evcc: FakeEvcc, session: aiohttp.ClientSession, legacy: bool
) -> None:
    evcc.legacy = legacy
    evcc.loadpoints[0].update(mode="now", chargePower=3680.0, charging=True)

    reading = await charger(evcc, session).read()

    assert reading == ChargerReading(3680.0, plugged=True, soc=0.42, setpoint_w=16 * 230.0)


async def test_the_loadpoint_is_one_based(evcc: FakeEvcc, session: aiohttp.ClientSession) -> None:
    reading = await charger(evcc, session, loadpoint=2).read()

    assert reading.plugged is False


async def test_pv_mode_has_no_setpoint_and_no_soc_is_none(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    evcc.loadpoints[0]["vehicleSoc"] = 0  # evcc's "no SOC known"

    reading = await charger(evcc, session).read()

    assert reading.setpoint_w is None and reading.soc is None


async def test_set_power_sets_max_current_then_mode_now(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    adapter = charger(evcc, session)

    assert await adapter.set_power(2500) == 10 * 230.0  # 10.87 A -> 10 A
    assert evcc.posts == ["/api/loadpoints/1/maxcurrent/10", "/api/loadpoints/1/mode/now"]
    assert await adapter.read() == ChargerReading(2300.0, True, 0.42, 2300.0)


async def test_three_phases_and_more_than_max(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    evcc.loadpoints[0]["phasesActive"] = 3
    adapter = charger(evcc, session, phases=3, max_w=11040)

    assert await adapter.set_power(50_000) == 16 * 230.0 * 3
    assert evcc.posts[0] == "/api/loadpoints/1/maxcurrent/16"
    assert (await adapter.read()).power_w == 16 * 230.0 * 3


@pytest.mark.parametrize(
    ("watts", "raw"),
    [(0, {}), (1300, {}), (2000, {"min_w": 2300})],
    ids=["zero", "under-6-A", "under-min_w"],
)
async def test_zero_or_too_little_turns_the_loadpoint_off(
    evcc: FakeEvcc, session: aiohttp.ClientSession, watts: float, raw: dict[str, Any]
) -> None:
    adapter = charger(evcc, session, **raw)
    await adapter.set_power(3680)

    assert await adapter.set_power(watts) == 0.0
    assert evcc.posts[-1] == "/api/loadpoints/1/mode/off"
    assert await adapter.read() == ChargerReading(0.0, True, 0.42, 0.0)


async def test_the_other_loadpoint_is_left_alone(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    await charger(evcc, session, loadpoint=2).set_power(3680)

    assert evcc.posts == ["/api/loadpoints/2/maxcurrent/16", "/api/loadpoints/2/mode/now"]
    assert evcc.loadpoints[0]["mode"] == "pv"


async def test_evccs_refusal_is_reported_in_its_words(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    evcc.loadpoints[0]["minCurrent"] = 8.0

    with pytest.raises(
        ChargerUnavailable,
        match=r"HTTP 400: max current must be greater or equal than min current",
    ):
        await charger(evcc, session).set_power(1610)  # 7 A
    assert evcc.loadpoints[0]["mode"] == "pv"  # never switched to now at the old maximum


async def test_a_loadpoint_evcc_does_not_have(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    adapter = charger(evcc, session, loadpoint=3)

    with pytest.raises(ChargerUnavailable, match=r"has 2 loadpoint\(s\); there is no loadpoint 3"):
        await adapter.read()
    with pytest.raises(ChargerUnavailable, match=r"HTTP 404: 404 page not found"):
        await adapter.set_power(3680)


async def test_an_offline_evcc_is_unavailable(session: aiohttp.ClientSession) -> None:
    config = flex(adapter="evcc", url=f"http://user:pw@127.0.0.1:{unused_port()}/")

    with pytest.raises(ChargerUnavailable) as caught:
        await Evcc(config, session).read()
    assert "not reachable" in str(caught.value)
    assert caught.value.device.startswith("evcc at http://127.0.0.1:")  # no credentials shown
    assert caught.value.load == "car"


async def test_an_evcc_that_never_answers_times_out(
    evcc: FakeEvcc, session: aiohttp.ClientSession
) -> None:
    evcc.behaviour.hang = True

    with pytest.raises(ChargerUnavailable, match=r"did not answer within 0.2 s"):
        await charger(evcc, session, timeout_s=0.2).set_power(3680)


@pytest.mark.parametrize(
    ("garbage", "status", "says"),
    [
        ("<html>evcc</html>", None, r"answered api/state with something not JSON: <html>"),
        ('{"result": 3}', None, r"answered api/state without a loadpoints list"),
        ('{"loadpoints": [{"connected": true}]}', None, r"chargePower missing"),
        ('{"loadpoints": ["garage"]}', None, r'with loadpoint "garage"'),
        (None, 500, r"answered GET api/state with HTTP 500: Internal Server Error"),
    ],
)
async def test_an_answer_that_is_not_a_state_is_unavailable(
    evcc: FakeEvcc,
    session: aiohttp.ClientSession,
    garbage: str | None,
    status: int | None,
    says: str,
) -> None:
    evcc.behaviour.garbage, evcc.behaviour.status = garbage, status

    with pytest.raises(ChargerUnavailable, match=says):
        await charger(evcc, session).read()

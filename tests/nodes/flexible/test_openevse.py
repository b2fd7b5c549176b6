"""OpenEVSE over its gateway's HTTP API, against a local gateway answering as the firmware."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from flowengine.secrets import SecretRef, attach_secrets
from nodes.flexible.device import ChargerReading, ChargerUnavailable
from nodes.flexible.openevse import CLAIM_CLIENT, OpenEvse
from tests.nodes.flexible.conftest import flex
from tests.nodes.flexible.fake_openevse import FakeOpenEvse
from tests.nodes.loads.conftest import unused_port

CLAIM_PATH = f"/claims/{CLAIM_CLIENT}"


def charger(server: FakeOpenEvse, session: aiohttp.ClientSession, **raw: Any) -> OpenEvse:
    settings = {"min_w": 1380, "voltage": 230, **raw}
    config = flex(adapter="openevse", host=server.host, port=server.port, **settings)
    return OpenEvse(config, session)


def posted(server: FakeOpenEvse) -> list[tuple[str, str, Any]]:
    return [r for r in server.requests if r[0] != "GET"]


async def test_read_maps_the_status_fields(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.battery_level = 64

    reading = await charger(openevse, session).read()

    # 32 A offered and drawn at the 240 V the gateway reports; the setpoint at the load's 230 V
    assert reading == ChargerReading(32 * 240.0, plugged=True, soc=0.64, setpoint_w=32 * 230.0)
    assert openevse.requests == [("GET", "/status", None)]


async def test_power_counts_the_loads_phases(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.voltage, openevse.max_current = 230.0, 16

    reading = await charger(openevse, session, phases=3, max_w=11040).read()

    assert reading.power_w == pytest.approx(16 * 230.0 * 3)
    assert reading.setpoint_w == pytest.approx(16 * 230.0 * 3)


async def test_no_car_no_soc(openevse: FakeOpenEvse, session: aiohttp.ClientSession) -> None:
    openevse.vehicle = False

    reading = await charger(openevse, session).read()

    assert reading.power_w == 0.0 and reading.plugged is False and reading.soc is None


async def test_set_power_claims_whole_amps_rounded_down(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    adapter = charger(openevse, session)

    assert await adapter.set_power(3700) == 16 * 230.0  # 16.09 A -> 16 A
    assert posted(openevse) == [
        ("POST", CLAIM_PATH, {"state": "active", "charge_current": 16, "auto_release": False})
    ]
    reading = await adapter.read()
    assert reading.power_w == 16 * 240.0 and reading.setpoint_w == 16 * 230.0


async def test_more_than_max_asks_for_max(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    assert await charger(openevse, session).set_power(20_000) == 7360.0
    assert openevse.claims[CLAIM_CLIENT].properties["charge_current"] == 32


@pytest.mark.parametrize(
    ("watts", "raw"),
    [(0, {}), (-50, {}), (1300, {}), (1800, {"min_w": 2000})],
    ids=["zero", "negative", "under-6-A", "under-min_w"],
)
async def test_zero_or_too_little_disables_the_charger(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession, watts: float, raw: dict[str, Any]
) -> None:
    adapter = charger(openevse, session, **raw)
    await adapter.set_power(7360)

    assert await adapter.set_power(watts) == 0.0
    assert posted(openevse)[-1] == (
        "POST",
        CLAIM_PATH,
        {"state": "disabled", "auto_release": False},
    )
    assert await adapter.read() == ChargerReading(0.0, plugged=True, soc=None, setpoint_w=0.0)


async def test_the_households_manual_override_outranks_the_claim(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.manual_override("disabled")
    adapter = charger(openevse, session)

    assert await adapter.set_power(3680) == 3680.0  # what we asked for...
    reading = await adapter.read()
    assert reading.power_w == 0.0 and reading.setpoint_w == 0.0  # ...is not what it does


async def test_basic_auth_with_a_secret(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.password = "hunter2"
    raw = {"password": SecretRef("evse_pw")}
    assert attach_secrets(raw, {"evse_pw": "hunter2"}) == []

    adapter = charger(openevse, session, **raw)

    assert (await adapter.read()).plugged is True
    assert await adapter.set_power(3680) == 3680.0


async def test_a_wrong_password_is_a_clear_error_without_the_password(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.password = "hunter2"

    with pytest.raises(ChargerUnavailable) as caught:
        await charger(openevse, session, username="admin", password="wrong-one").read()
    text = str(caught.value)
    assert text == (
        f"flexible load 'car' (OpenEVSE at 127.0.0.1:{openevse.port}): refused the password "
        "for user 'admin' (HTTP 401)"
    )
    assert "wrong-one" not in text and "hunter2" not in text


async def test_a_gateway_asking_for_a_password_we_lack_says_where_to_put_it(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.password = "hunter2"

    with pytest.raises(ChargerUnavailable, match=r"set flexible_loads.car.username and password"):
        await charger(openevse, session).set_power(3680)


async def test_an_offline_charger_is_unavailable(session: aiohttp.ClientSession) -> None:
    config = flex(adapter="openevse", host="127.0.0.1", port=unused_port())

    with pytest.raises(ChargerUnavailable, match=r"OpenEVSE at 127.0.0.1:\d+\): not reachable"):
        await OpenEvse(config, session).read()


async def test_a_gateway_that_never_answers_times_out(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.behaviour.hang = True

    with pytest.raises(ChargerUnavailable, match=r"did not answer within 0.2 s"):
        await charger(openevse, session, timeout_s=0.2).set_power(3680)


@pytest.mark.parametrize(
    ("garbage", "status", "says"),
    [
        ("<html>OpenEVSE</html>", None, r"answered /status with something not JSON: <html>"),
        ('["amp", 0]', None, r'answered /status with \["amp", 0\]'),
        ('{"state": 3}', None, r"answered /status with amp missing \(mA\)"),
        ('{"state": "3", "amp": 0}', None, r'answered /status with state "3"'),
        (None, 500, r"answered GET /status with HTTP 500: Internal Server Error"),
    ],
)
async def test_an_answer_that_is_not_a_status_is_unavailable(
    openevse: FakeOpenEvse,
    session: aiohttp.ClientSession,
    garbage: str | None,
    status: int | None,
    says: str,
) -> None:
    openevse.behaviour.garbage, openevse.behaviour.status = garbage, status

    with pytest.raises(ChargerUnavailable, match=says):
        await charger(openevse, session).read()


async def test_a_fault_makes_the_charger_unavailable(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.fault = 6

    with pytest.raises(ChargerUnavailable, match=r"reports EVSE state 6: GFCI fault"):
        await charger(openevse, session).read()


async def test_firmware_without_claims_says_so(
    openevse: FakeOpenEvse, session: aiohttp.ClientSession
) -> None:
    openevse.behaviour.status = 404

    with pytest.raises(ChargerUnavailable, match=r"no claims API .* firmware 4.1 or later"):
        await charger(openevse, session).set_power(3680)

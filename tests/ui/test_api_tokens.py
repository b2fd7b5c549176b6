"""API tokens over real HTTP: made, listed and revoked from a signed-in session with its
CSRF token; ``Authorization: Bearer`` opens /api/* with no cookie and no CSRF token,
and nothing else; a wrong or revoked one is 401 and counts as a wrong password; only a
hash is kept on disk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.web import client, sign_in
from tests.ui.conftest import PASSWORD, START, Served, running_ui
from ui.auth import GLOBAL_BUDGET, LOCKOUT_S, MAX_FAILURES, Auth, write_password
from ui.tokens import MAX_NAME, TOKENS_FILE, TOUCH_S

FORCE_CHARGE = {"mode": "force_charge", "power_w": 3000, "duration": "1h"}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def kept(tmp_path: Path, free_port: int, clock: Clock) -> AsyncIterator[Served]:
    """The UI over an owner whose password, sessions and tokens are kept in ``tmp_path``."""
    write_password(tmp_path, PASSWORD)
    async with running_ui(free_port, auth=Auth(tmp_path, clock=clock)) as served:
        yield served


async def call(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None = None, body: Any = None
) -> tuple[int, Any, Any]:
    """Status, JSON body (or text) and headers; with ``token`` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with http.request(
        method, url, json=body, headers=headers, allow_redirects=False
    ) as response:
        answer = await (
            response.json() if response.content_type == "application/json" else response.text()
        )
        return response.status, answer, response.headers


async def make_token(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, Any]:
    status, made, _ = await call(http, "POST", f"{url}/api/tokens", body={"name": name})
    assert status == 201, made
    return dict(made)


async def test_a_token_is_made_used_without_csrf_and_revoked_at_once(
    kept: Served, tmp_path: Path, clock: Clock
) -> None:
    url = kept.url
    async with client() as owner, aiohttp.ClientSession() as script:
        await sign_in(owner, url, PASSWORD)
        made = await make_token(owner, url, "  Home Assistant ")
        token = made.pop("token")
        assert token.startswith("pm_") and len(token) >= 40
        assert made == {
            "id": made["id"],
            "name": "Home Assistant",
            "created": START,
            "last_used": None,
        }
        status, listed, _ = await call(owner, "GET", f"{url}/api/tokens")
        assert (status, listed) == (200, {"tokens": [made]})  # never the token

        # Kept as a hash: the file holds no token, mode 0600.
        path = tmp_path / TOKENS_FILE
        stored = path.read_text()
        assert token not in stored and token[3:] not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
        assert path.stat().st_mode & 0o777 == 0o600

        # One request instead of four: no cookie, no CSRF token.
        clock.now += 60
        status, stored_override, _ = await call(
            script, "POST", f"{url}/api/override", token, FORCE_CHARGE
        )
        assert status == 200 and stored_override["mode"] == "force_charge"
        assert kept.service.override() is not None
        assert (await call(script, "GET", f"{url}/api/state", token))[0] == 200
        assert (await call(script, "DELETE", f"{url}/api/override", token))[0] == 200
        assert kept.service.override() is None
        [listed_token] = (await call(owner, "GET", f"{url}/api/tokens"))[1]["tokens"]
        assert listed_token["last_used"] == START + 60
        assert json.loads(path.read_text())["tokens"][0]["last_used"] == START + 60

        status, revoked, _ = await call(owner, "DELETE", f"{url}/api/tokens/{made['id']}")
        assert status == 200 and revoked["revoked"]["name"] == "Home Assistant"
        status, refused, headers = await call(
            script, "POST", f"{url}/api/override", token, FORCE_CHARGE
        )
        assert status == 401 and "revoked" in refused["error"]
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert kept.service.override() is None
        assert (await call(owner, "DELETE", f"{url}/api/tokens/{made['id']}"))[0] == 404
        assert json.loads(path.read_text())["tokens"] == []


async def test_a_last_use_is_written_at_most_once_per_touch_interval(
    kept: Served, tmp_path: Path, clock: Clock
) -> None:
    async with client() as owner, aiohttp.ClientSession() as script:
        await sign_in(owner, kept.url, PASSWORD)
        token = (await make_token(owner, kept.url, "poller"))["token"]
        path = tmp_path / TOKENS_FILE
        for _ in range(3):  # a script polling every minute
            clock.now += 60
            assert (await call(script, "GET", f"{kept.url}/api/state", token))[0] == 200
        assert json.loads(path.read_text())["tokens"][0]["last_used"] == START + 60
        clock.now += TOUCH_S
        assert (await call(script, "GET", f"{kept.url}/api/state", token))[0] == 200
        assert json.loads(path.read_text())["tokens"][0]["last_used"] == clock.now
    # A restart reads the tokens back: the same token still works.
    auth = Auth(tmp_path, clock=clock)
    assert auth.bearer(token, "127.0.0.1") is not None
    assert [t["name"] for t in auth.tokens.listed()] == ["poller"]


async def test_a_token_opens_no_page_no_token_management_and_no_password(
    kept: Served, clock: Clock
) -> None:
    url = kept.url
    async with client() as owner, aiohttp.ClientSession() as script:
        await sign_in(owner, url, PASSWORD)
        made = await make_token(owner, url, "script")
        token = made["token"]
        for method, path in [
            ("GET", "/flows"),
            ("GET", "/settings"),
            ("GET", "/"),
            ("GET", "/password"),
            ("POST", "/password"),
            ("POST", "/logout"),
            ("GET", "/api/tokens"),
            ("POST", "/api/tokens"),
            ("DELETE", f"/api/tokens/{made['id']}"),
        ]:
            status, answer, _ = await call(script, method, f"{url}{path}", token, {"name": "x"})
            assert status == 403, (method, path, status, answer)
        # Refused unchecked: a wrong token there is not a guess either.
        for _ in range(MAX_FAILURES + 1):
            assert (await call(script, "GET", f"{url}/api/tokens", "pm_wrong"))[0] == 403
        assert kept.auth.wait_for("127.0.0.1") == 0
        # A write with a token from another site's page is refused for its origin.
        async with script.post(
            f"{url}/api/override",
            json=FORCE_CHARGE,
            headers={"Authorization": f"Bearer {token}", "Origin": "http://evil.example"},
        ) as response:
            assert response.status == 403
        assert kept.service.override() is None
        assert [
            t["name"] for t in (await call(owner, "GET", f"{url}/api/tokens"))[1]["tokens"]
        ] == ["script"]


async def test_tokens_are_made_and_revoked_only_by_a_signed_in_session_with_csrf(
    kept: Served,
) -> None:
    url = kept.url
    async with client() as stranger:
        assert (await call(stranger, "GET", f"{url}/api/tokens"))[0] == 401
        assert (await call(stranger, "POST", f"{url}/api/tokens", body={"name": "x"}))[0] == 401
    async with client() as owner:
        await sign_in(owner, url, PASSWORD)
        made = await make_token(owner, url, "kept")
        csrf = owner.headers.pop("X-CSRF-Token")
        assert (await call(owner, "POST", f"{url}/api/tokens", body={"name": "y"}))[0] == 403
        assert (await call(owner, "DELETE", f"{url}/api/tokens/{made['id']}"))[0] == 403
        owner.headers["X-CSRF-Token"] = csrf
        assert len((await call(owner, "GET", f"{url}/api/tokens"))[1]["tokens"]) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ""}, "give the token a name"),
        ({"name": "   "}, "give the token a name"),
        ({}, "give the token a name"),
        ({"name": 7}, "give the token a name"),
        ({"name": "x" * (MAX_NAME + 1)}, f"at most {MAX_NAME} characters"),
        ({"name": "a\nb"}, "control characters"),
        ({"name": "ok", "scope": "all"}, "JSON object like"),
        (["name"], "JSON object like"),
    ],
)
async def test_a_bad_name_is_refused_naming_the_field(
    kept: Served, body: Any, message: str
) -> None:
    async with client() as owner:
        await sign_in(owner, kept.url, PASSWORD)
        status, refused, _ = await call(owner, "POST", f"{kept.url}/api/tokens", body=body)
        assert status == 422 and refused["problems"][0]["field"] == "name"
        assert message in refused["problems"][0]["message"]
        assert (await call(owner, "GET", f"{kept.url}/api/tokens"))[1] == {"tokens": []}


async def test_wrong_tokens_count_as_wrong_passwords(kept: Served, clock: Clock) -> None:
    url = kept.url
    async with client() as owner:
        await sign_in(owner, url, PASSWORD)
        token = (await make_token(owner, url, "ha"))["token"]
    async with aiohttp.ClientSession() as script:
        for _ in range(MAX_FAILURES):
            status, _, headers = await call(script, "GET", f"{url}/api/state", token + "x")
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        # This address is locked out: even the right token waits, unchecked.
        status, _, headers = await call(script, "GET", f"{url}/api/state", token)
        assert status == 429 and int(headers["Retry-After"]) == LOCKOUT_S
        async with client() as browser:
            with pytest.raises(AssertionError, match="Too many wrong passwords"):
                await sign_in(browser, url, PASSWORD)  # and so is a sign-in from it
        clock.now += LOCKOUT_S
        assert (await call(script, "GET", f"{url}/api/state", token))[0] == 200


async def guess(url: str, token: str, address: str) -> tuple[int, str | None]:
    """One bearer try from ``address`` (a loopback address of its own)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        status, _, headers = await call(http, "GET", f"{url}/api/state", token)
        return status, headers.get("Retry-After")


async def test_guessing_tokens_from_many_addresses_slows_everyone(
    kept: Served, clock: Clock
) -> None:
    url = kept.url
    async with client() as owner:
        await sign_in(owner, url, PASSWORD)
        token = (await make_token(owner, url, "ha"))["token"]
    per_address = MAX_FAILURES - 1  # no address reaches its own lockout
    for n in range(GLOBAL_BUDGET):
        assert await guess(url, f"pm_guess{n}", f"127.0.0.{10 + n // per_address}") == (401, None)
    # Past the budget everyone waits, the right token too, and so do sign-ins.
    assert await guess(url, token, "127.0.0.200") == (429, "1")
    assert kept.auth.wait_for("127.0.0.201") > 0
    clock.now += 1
    assert (await guess(url, token, "127.0.0.200"))[0] == 200


async def test_a_password_change_leaves_tokens_working(kept: Served) -> None:
    url = kept.url
    async with client() as owner, aiohttp.ClientSession() as script:
        csrf = await sign_in(owner, url, PASSWORD)
        token = (await make_token(owner, url, "ha"))["token"]
        form = {
            "current": PASSWORD,
            "password": "a brand new one",
            "again": "a brand new one",
            "csrf_token": csrf,
        }
        async with owner.post(f"{url}/password", data=form, allow_redirects=False) as response:
            assert response.status == 303
        assert (await call(script, "POST", f"{url}/api/override", token, FORCE_CHARGE))[0] == 200


async def test_a_token_works_with_the_in_memory_owner_too(ui: Served) -> None:
    """No data dir (a demo): tokens live as long as the process."""
    async with client() as owner, aiohttp.ClientSession() as script:
        await sign_in(owner, ui.url, PASSWORD)
        token = (await make_token(owner, ui.url, "demo"))["token"]
        assert (await call(script, "GET", f"{ui.url}/api/override", token))[0] == 200
        assert (await call(script, "GET", f"{ui.url}/api/override", "pm_nope"))[0] == 401
        assert (await call(script, "GET", f"{ui.url}/api/override", ""))[0] == 401


def test_a_broken_token_file_opens_nothing_and_is_rewritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / TOKENS_FILE).write_text('{"tokens": [{"id": 1}]}')
    auth = Auth(tmp_path, one_time_password="")
    assert auth.tokens.listed() == [] and "not an API token file" in caplog.text
    assert auth.bearer("pm_anything") is None
    _, text = auth.tokens.create("again")
    assert Auth(tmp_path, one_time_password="").bearer(text) is not None


async def test_a_token_opens_the_health_checks_as_a_sign_in_does(kept: Served) -> None:
    """/api/health is open for monitors (the status only); a token, like a session, also
    gets the checks (a refused edit's problems), and a wrong one is refused."""
    url = kept.url
    async with client() as owner, aiohttp.ClientSession() as script:
        await sign_in(owner, url, PASSWORD)
        token = (await make_token(owner, url, "monitor"))["token"]
        status, open_answer, _ = await call(script, "GET", f"{url}/api/health")
        assert status == 200 and set(open_answer) <= {"status", "since", "time"}
        status, with_token, _ = await call(script, "GET", f"{url}/api/health", token)
        assert status == 200 and with_token["flows"] == kept.service.health()["flows"]
        status, signed_in, _ = await call(owner, "GET", f"{url}/api/health")
        assert status == 200 and signed_in == with_token
        status, refused, _ = await call(script, "GET", f"{url}/api/health", "pm_" + "x" * 40)
        assert status == 401 and "wrong or revoked" in refused["error"]

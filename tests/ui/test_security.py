"""The door: nothing but sign-in, static files and health without a session; every write
needs the session's CSRF token and this site's origin; passwords are slow hashes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.web import CSRF_META, client, sign_in
from tests.ui.conftest import PASSWORD, Served, running_ui
from ui.auth import (
    IDLE_S,
    MAX_FAILURES,
    PASSWORD_FILE,
    Auth,
    PasswordError,
    hash_password,
    read_password_hash,
    verify_password,
    write_password,
)

ROOT = Path(__file__).resolve().parents[2]
OVERRIDE = {"mode": "force_charge", "power_w": 2000, "duration": "1h"}


def test_passwords_are_salted_scrypt_hashes() -> None:
    stored = hash_password("a long passphrase")
    parts = stored.split("$")
    assert parts[:4] == ["scrypt", "16384", "8", "1"] and len(parts) == 6
    assert hash_password("a long passphrase") != stored  # a new salt each time
    assert verify_password("a long passphrase", stored)
    assert not verify_password("a long passphrase!", stored)
    assert not verify_password("anything", "md5$abc")


async def test_signed_out_pages_redirect_and_apis_refuse(ui: Served) -> None:
    async with client() as http:
        async with http.get(f"{ui.url}/flows", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["location"] == "/login?next=/flows"
        for path in ("/api/state", "/api/flows", "/api/events", "/api/override"):
            async with http.get(f"{ui.url}{path}") as response:
                assert response.status == 401, path
        async with http.post(f"{ui.url}/api/override", json=OVERRIDE) as response:
            assert response.status == 401
        async with http.post(f"{ui.url}/api/flows/demo/trigger", json={}) as response:
            assert response.status == 401
        assert ui.service.override() is None and ui.engine.flows["demo"].nodes["num"].count == 0
        async with http.get(f"{ui.url}/api/health") as response:
            assert response.status == 200  # open, for monitoring
        async with http.get(f"{ui.url}/static/app.css") as response:
            assert response.status == 200


async def test_every_response_forbids_other_origins(ui: Served) -> None:
    async with client() as http, http.get(f"{ui.url}/login") as response:
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_a_write_needs_the_sessions_csrf_token(ui: Served) -> None:
    async with client() as http:
        token = await sign_in(http, ui.url, PASSWORD)
        del http.headers["X-CSRF-Token"]
        async with http.post(f"{ui.url}/api/override", json=OVERRIDE) as response:
            assert response.status == 403
            assert "CSRF" in (await response.json())["error"]
        async with http.post(
            f"{ui.url}/api/override", json=OVERRIDE, headers={"X-CSRF-Token": token + "x"}
        ) as response:
            assert response.status == 403
        async with http.delete(f"{ui.url}/api/override") as response:
            assert response.status == 403
        assert ui.service.override() is None
        # The same token from another site's page: refused for its origin.
        async with http.post(
            f"{ui.url}/api/override",
            json=OVERRIDE,
            headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
        ) as response:
            assert response.status == 403
        assert ui.service.override() is None
        async with http.post(
            f"{ui.url}/api/override", json=OVERRIDE, headers={"X-CSRF-Token": token}
        ) as response:
            assert response.status == 200
        assert ui.service.override() is not None


async def test_a_form_carries_the_token_and_signing_out_ends_the_session(ui: Served) -> None:
    async with client() as http:
        token = await sign_in(http, ui.url, PASSWORD)
        del http.headers["X-CSRF-Token"]
        async with http.post(
            f"{ui.url}/logout", data={"csrf_token": "wrong"}, allow_redirects=False
        ) as response:
            assert response.status == 403
        async with http.post(
            f"{ui.url}/logout", data={"csrf_token": token}, allow_redirects=False
        ) as response:
            assert response.status == 303 and response.headers["location"] == "/login"
        async with http.get(f"{ui.url}/api/state") as response:
            assert response.status == 401


async def test_wrong_passwords_are_refused_and_then_locked_out(ui: Served) -> None:
    async with client() as http:
        for _ in range(MAX_FAILURES):
            with pytest.raises(AssertionError, match="sign-in refused: 401"):
                await sign_in(http, ui.url, "not the password")
        with pytest.raises(AssertionError, match="Too many wrong passwords"):
            await sign_in(http, ui.url, PASSWORD)  # even the right one, for a while


async def test_the_sign_in_form_needs_its_own_token(ui: Served) -> None:
    async with client() as http:
        form = {"password": PASSWORD, "csrf_token": "forged"}
        async with http.post(f"{ui.url}/login", data=form, allow_redirects=False) as response:
            assert response.status == 400


async def test_sign_in_goes_back_only_to_a_page_of_this_site(ui: Served) -> None:
    async with client() as http:
        async with http.get(f"{ui.url}/login") as response:
            token = (await response.text()).split('name="csrf_token" value="')[1].split('"')[0]
        form = {"password": PASSWORD, "csrf_token": token}
        async with http.post(
            f"{ui.url}/login?next=//evil.example/x", data=form, allow_redirects=False
        ) as response:
            assert response.headers["location"] == "/"


async def test_sessions_expire_when_idle(free_port: int) -> None:
    now = [1_000_000.0]
    auth = Auth(None, clock=lambda: now[0], one_time_password="")
    auth.set_password(PASSWORD, auth._open(must_set_password=True))
    async with running_ui(free_port, auth=auth) as ui, client() as http:
        await sign_in(http, ui.url, PASSWORD)
        now[0] += IDLE_S - 60
        async with http.get(f"{ui.url}/api/state") as response:
            assert response.status == 200  # used: its idle clock starts again
        now[0] += IDLE_S + 1
        async with http.get(f"{ui.url}/api/state") as response:
            assert response.status == 401


async def test_first_start_signs_in_once_and_asks_for_a_password(free_port: int) -> None:
    auth = Auth(None)  # no password yet: a one-time one
    once = auth.one_time_password
    assert once
    async with running_ui(free_port, auth=auth) as ui, client() as http:
        await sign_in(http, ui.url, once)
        async with http.get(f"{ui.url}/flows", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["location"] == "/password"
        async with http.get(f"{ui.url}/password") as response:
            page = await response.text()
        assert "Set your password" in page and CSRF_META.search(page)
        async with http.post(
            f"{ui.url}/password",
            data={
                "password": "short",
                "again": "short",
                "csrf_token": http.headers["X-CSRF-Token"],
            },
        ) as response:
            assert response.status == 422 and "at least 8" in await response.text()
        async with http.post(
            f"{ui.url}/password",
            data={
                "password": "a new long one",
                "again": "a new long one",
                "csrf_token": http.headers["X-CSRF-Token"],
            },
            allow_redirects=False,
        ) as response:
            assert response.status == 303
        async with http.get(f"{ui.url}/flows", allow_redirects=False) as response:
            assert response.status == 200
    assert auth.one_time_password is None
    assert auth.login(once) is None and auth.login("a new long one") is not None


def test_set_password_reads_standard_input_into_the_data_dir(tmp_path: Path) -> None:
    def run(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "powermaster.cli", "set-password", "--data-dir", str(tmp_path)],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    refused = run("short\n")
    assert refused.returncode == 2 and "at least 8" in refused.stderr
    assert not (tmp_path / PASSWORD_FILE).exists()
    done = run("  not trimmed?\n")
    assert done.returncode == 2 and "spaces" in done.stderr
    done = run("a passphrase from a script\n")
    assert done.returncode == 0, done.stderr
    stored = read_password_hash(tmp_path)
    assert stored is not None and verify_password("a passphrase from a script", stored)
    assert "a passphrase" not in (tmp_path / PASSWORD_FILE).read_text()
    assert (tmp_path / PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
    assert Auth(tmp_path).login("a passphrase from a script") is not None
    assert Auth(tmp_path).one_time_password is None


def test_a_broken_password_file_is_named(tmp_path: Path) -> None:
    (tmp_path / PASSWORD_FILE).write_text("{nope")
    with pytest.raises(PasswordError, match="ui-password: not a password file"):
        Auth(tmp_path)
    write_password(tmp_path, "a fine password")
    assert json.loads((tmp_path / PASSWORD_FILE).read_text())["hash"].startswith("scrypt$")


def test_a_running_service_takes_a_password_set_meanwhile(tmp_path: Path) -> None:
    auth = Auth(tmp_path)
    assert not auth.password_set
    write_password(tmp_path, "set by the command")
    assert auth.login("set by the command") is not None


async def test_head_is_a_read_however_the_route_handles_writes(ui: Served) -> None:
    async with client() as http:
        await sign_in(http, ui.url, PASSWORD)
        del http.headers["X-CSRF-Token"]
        async with http.head(f"{ui.url}/api/override", json=OVERRIDE) as response:
            assert response.status == 200
        assert ui.service.override() is None  # read, not set


async def test_health_tells_a_monitor_only_the_status(ui: Served) -> None:
    async with client() as http, http.get(f"{ui.url}/api/health") as response:
        assert await response.json() == {"status": "ok"}  # the fake's checks stay hidden


async def test_a_one_time_password_session_may_only_set_a_password(free_port: int) -> None:
    auth = Auth(None)
    async with running_ui(free_port, auth=auth) as ui, client() as http:
        assert auth.one_time_password
        await sign_in(http, ui.url, auth.one_time_password)
        for method, path in (
            ("GET", "/api/state"),
            ("POST", "/api/override"),
            ("GET", "/api/events"),
            ("POST", "/api/flows/demo/trigger"),
        ):
            async with http.request(method, f"{ui.url}{path}", json=OVERRIDE) as response:
                assert response.status == 403, path
        assert ui.service.override() is None


async def test_changing_the_password_needs_the_current_one(ui: Served) -> None:
    async with client() as http:
        token = await sign_in(http, ui.url, PASSWORD)
        form = {"password": "taken over!", "again": "taken over!", "csrf_token": token}
        async with http.post(f"{ui.url}/password", data=form) as response:
            assert response.status == 422 and "current password" in await response.text()
        assert ui.auth.login(PASSWORD) is not None and ui.auth.login("taken over!") is None
        form["current"] = PASSWORD
        async with http.post(f"{ui.url}/password", data=form, allow_redirects=False) as response:
            assert response.status == 303
        assert ui.auth.login("taken over!") is not None


async def test_a_strange_token_is_refused_not_a_crash(ui: Served) -> None:
    async with client() as http:
        await sign_in(http, ui.url, PASSWORD)
        async with http.post(
            f"{ui.url}/api/override", json=OVERRIDE, headers={"X-CSRF-Token": "tökén"}
        ) as response:
            assert response.status == 403

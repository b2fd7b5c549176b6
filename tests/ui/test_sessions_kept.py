"""Sessions survive a restart: the real service, stopped and started again on the same
data dir, takes the old cookie and its CSRF token; the file holds no cookie; the idle,
age and password rules still end sessions; the file is not rewritten per request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from tests.support.service import running_service
from tests.support.web import OWNER_PASSWORD, client, owner_of, sign_in
from ui.auth import IDLE_S, MAX_AGE_S, MAX_SESSIONS, SESSIONS_FILE, Auth, write_password
from ui.security import COOKIE
from ui.tokens import TOUCH_S

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()
FORCE_CHARGE = {"mode": "force_charge", "power_w": 3000, "duration": "1h"}
PASSWORD = "the owner's password"


def cookie_of(http: aiohttp.ClientSession, base: str) -> str:
    return http.cookie_jar.filter_cookies(URL(base))[COOKIE].value


async def status_of(http: aiohttp.ClientSession, method: str, url: str) -> int:
    body = FORCE_CHARGE if method == "POST" else None
    async with http.request(method, url, json=body, allow_redirects=False) as response:
        return response.status


async def test_a_restart_of_the_service_signs_nobody_out(tmp_path: Path, free_port: int) -> None:
    data = tmp_path / "data"
    base = f"http://127.0.0.1:{free_port}"
    async with running_service(data, free_port, START) as service:
        owner = await owner_of(service)  # the one-time password, then the owner's own
        other = client()
        await sign_in(other, base, OWNER_PASSWORD)
        assert await status_of(other, "GET", f"{base}/api/state") == 200
        # A password change ends every other session, and that stays so after a restart.
        form = {
            "current": OWNER_PASSWORD,
            "password": "a newer password",
            "again": "a newer password",
            "csrf_token": owner.headers["X-CSRF-Token"],
        }
        async with owner.post(f"{base}/password", data=form, allow_redirects=False) as response:
            assert response.status == 303
        assert await status_of(other, "GET", f"{base}/api/state") == 401
        cookie = cookie_of(owner, base)

    kept = (data / SESSIONS_FILE).read_text()
    assert cookie not in kept and (data / SESSIONS_FILE).stat().st_mode & 0o777 == 0o600
    assert len(json.loads(kept)["sessions"]) == 1

    async with running_service(data, free_port, START) as service, owner, other:
        assert await status_of(owner, "GET", f"{base}/api/state") == 200
        async with owner.get(f"{base}/settings") as response:
            assert response.status == 200  # a page too, not only the API
        assert await status_of(owner, "POST", f"{base}/api/override") == 200  # old CSRF token
        assert service.override() is not None
        assert await status_of(other, "GET", f"{base}/api/state") == 401
        async with owner.post(
            f"{base}/logout",
            data={"csrf_token": owner.headers["X-CSRF-Token"]},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
    assert json.loads((data / SESSIONS_FILE).read_text())["sessions"] == []


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def owner_dir(tmp_path: Path) -> Path:
    write_password(tmp_path, PASSWORD)
    return tmp_path


def test_kept_sessions_still_end_when_idle_or_old(owner_dir: Path) -> None:
    """Each step is a restart: a new Auth on the same data dir."""
    clock = Clock()
    session = Auth(owner_dir, clock=clock).login(PASSWORD)
    assert session is not None
    clock.now += IDLE_S - 60
    assert Auth(owner_dir, clock=clock).session(session.token) is not None  # used
    clock.now += IDLE_S + 1
    assert Auth(owner_dir, clock=clock).session(session.token) is None  # unused too long

    old = Auth(owner_dir, clock=clock).login(PASSWORD)
    assert old is not None
    opened = clock.now
    while clock.now + IDLE_S / 2 - opened <= MAX_AGE_S:  # used twice a day for 30 days
        clock.now += IDLE_S / 2
        assert Auth(owner_dir, clock=clock).session(old.token) is not None
    clock.now += IDLE_S / 2
    assert Auth(owner_dir, clock=clock).session(old.token) is None  # too old


def test_a_password_set_from_the_command_line_ends_kept_sessions(owner_dir: Path) -> None:
    session = Auth(owner_dir).login(PASSWORD)
    assert session is not None and Auth(owner_dir).session(session.token) is not None
    write_password(owner_dir, "set from a shell")  # power-master set-password
    assert Auth(owner_dir).session(session.token) is None


def test_the_file_is_written_at_most_once_per_touch_interval(owner_dir: Path) -> None:
    clock = Clock()
    auth = Auth(owner_dir, clock=clock)
    session = auth.login(PASSWORD)
    assert session is not None
    path = owner_dir / SESSIONS_FILE
    written = path.read_text()
    for _ in range(5):  # a page polling every minute
        clock.now += 60
        assert auth.session(session.token) is not None
    assert path.read_text() == written
    clock.now += TOUCH_S
    assert auth.session(session.token) is not None
    assert json.loads(path.read_text())["sessions"][0]["seen"] == clock.now


def test_sign_ins_past_the_most_sessions_end_the_one_unused_longest(owner_dir: Path) -> None:
    clock = Clock()
    auth = Auth(owner_dir, clock=clock)
    tokens = []
    for _ in range(MAX_SESSIONS + 1):
        clock.now += 1
        session = auth.login(PASSWORD)
        assert session is not None
        tokens.append(session.token)
    assert auth.session(tokens[0]) is None
    assert all(auth.session(token) for token in tokens[1:])
    assert len(json.loads((owner_dir / SESSIONS_FILE).read_text())["sessions"]) == MAX_SESSIONS


def test_a_broken_sessions_file_signs_everyone_out(
    owner_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (owner_dir / SESSIONS_FILE).write_text("{not json")
    auth = Auth(owner_dir)
    assert "not a sessions file" in caplog.text
    session = auth.login(PASSWORD)  # and the next sign-in writes it anew
    assert session is not None and Auth(owner_dir).session(session.token) is not None

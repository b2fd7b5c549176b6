"""Signing in to the web UI as a browser does: the sign-in form, its cookie, the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(http: aiohttp.ClientSession, base_url: str, password: str) -> str:
    """Sign ``http`` in (its cookie jar must take cookies for 127.0.0.1: ``unsafe=True``);
    every later write carries the session's CSRF token. Returns the token."""
    async with http.get(f"{base_url}/login") as response:
        found = LOGIN_TOKEN.search(await response.text())
    assert found, "the sign-in page has no form token"
    form = {"password": password, "csrf_token": found.group(1)}
    async with http.post(f"{base_url}/login", data=form, allow_redirects=False) as response:
        assert response.status == 303, f"sign-in refused: {response.status} {await response.text()}"
    async with http.get(f"{base_url}/flows") as response:  # any page carries the token
        token = CSRF_META.search(await response.text())
    assert token, "a signed-in page has no CSRF token"
    http.headers["X-CSRF-Token"] = token.group(1)
    return token.group(1)


def client() -> aiohttp.ClientSession:
    """A client that keeps the UI's cookies (127.0.0.1 included) like a browser."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


OWNER_PASSWORD = "the owner's own password"


async def owner_of(service: Any) -> aiohttp.ClientSession:
    """A client signed in to a running ``powermaster.service.Service`` as on a first start:
    the one-time password it printed, then the owner's own set; close it when done."""
    session = client()
    auth = service.auth
    assert auth is not None and auth.one_time_password, "the service has no one-time password"
    base = f"http://{service.options.host}:{service.options.port}"
    token = await sign_in(session, base, auth.one_time_password)
    form = {"password": OWNER_PASSWORD, "again": OWNER_PASSWORD, "csrf_token": token}
    async with session.post(f"{base}/password", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    return session

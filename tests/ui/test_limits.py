"""ui.limits: a body's size by path, forms, multipart and JSON depth and strings, over
HTTP on the app served by uvicorn (issue 16, failures 3 and 9)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.ui.conftest import Served, running_ui
from ui.limits import (
    API_JSON,
    DEFAULT_BODY,
    BadBody,
    JsonLimits,
    body_limit,
    parse_json,
    whole_number,
)

FORM = "application/x-www-form-urlencoded"
HOOK = "hook-5b1f0c9e2d7a4e11"
HOOKED = f"""
flow: hooked
triggers: [{{type: webhook, webhook_id: {HOOK}}}]
nodes:
  - {{id: keep, type: test.collect}}
"""


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


async def raw(url: str, head: bytes, body: bytes = b"") -> bytes:
    """Send ``head`` (and ``body``) on a socket of its own; the status line answered."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head + body)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.readline()
    finally:
        writer.close()


async def test_a_body_declared_over_the_limit_is_refused_before_a_byte_is_sent(
    ui: Served,
) -> None:
    """Failure 3: 300 fields of 1 MB to /login. The answer comes from the length alone."""
    head = (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        + FORM.encode()
        + b"\r\nContent-Length: 314572800\r\n\r\n"
    )
    assert (await raw(ui.url, head)).startswith(b"HTTP/1.1 413")


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(ui: Served) -> None:
    """No length to go by: counted as it comes, answered while the client still sends."""
    head = (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        + FORM.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3))  # 24 KiB, no end
    assert 3 * len(chunk) > DEFAULT_BODY
    assert (await raw(ui.url, head, body)).startswith(b"HTTP/1.1 413")


async def test_each_route_has_its_own_limit(ui: Served, http: aiohttp.ClientSession) -> None:
    """40 KB of JSON is too much for an override, not for a settings edit."""
    big = json.dumps(list(range(8_000))).encode()
    assert DEFAULT_BODY < len(big) < body_limit("/api/settings")
    headers = {"Content-Type": "application/json"}
    async with http.post(f"{ui.url}/api/override", data=big, headers=headers) as response:
        assert response.status == 413
        assert "over 16384 bytes" in (await response.json())["error"]
    async with http.post(f"{ui.url}/api/settings", data=big, headers=headers) as response:
        assert response.status == 422  # read whole, refused for what it says


async def test_multipart_is_refused_where_no_file_is_expected(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("password", "x")
    form.add_field("file", b"\0" * 1000, filename="big.bin")
    async with (
        aiohttp.ClientSession() as stranger,
        stranger.post(f"{ui.url}/login", data=form) as response,
    ):
        assert response.status == 415
    form = aiohttp.FormData()
    form.add_field("mode", "force_charge")
    form.add_field("file", b"\0" * 1000, filename="big.bin")
    async with http.post(f"{ui.url}/api/override", data=form) as response:
        assert response.status == 415


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({f"f{i}": "x" for i in range(50)}, "Too many fields"),
        ({"password": "x" * 5000, "csrf_token": "t"}, "Field exceeded maximum size"),
    ],
)
async def test_a_form_has_a_few_short_fields(
    ui: Served, form: dict[str, str], message: str
) -> None:
    async with (
        aiohttp.ClientSession() as stranger,
        stranger.post(f"{ui.url}/login", data=form) as response,
    ):
        assert response.status == 400
        assert message in await response.text()


@pytest.mark.parametrize("levels", [100_000, 5_000, 40])
@pytest.mark.parametrize(
    "path", ["/api/override", "/api/loads", "/api/settings", "/api/flows/demo/trigger"]
)
async def test_deep_json_is_refused_with_400_on_every_route_that_reads_json(
    ui: Served, http: aiohttp.ClientSession, path: str, levels: int
) -> None:
    """Failure 9: 100,000 levels answered 500 (RecursionError). Over a route's size limit
    it is 413; under it, 400 naming the depth (the decoder's limit or ours)."""
    body = nested(levels)
    async with http.post(
        f"{ui.url}{path}", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        if len(body) > body_limit(path):
            assert response.status == 413
            return
        assert response.status == 400, await response.text()
        problem = (await response.json())["problems"][0]
        assert f"deeper than {API_JSON.depth} levels" in problem["message"]


async def test_a_webhook_refuses_deep_json_and_takes_text(free_port: int) -> None:
    async with running_ui(free_port, flows=HOOKED) as ui, aiohttp.ClientSession() as http:
        url = f"{ui.url}/api/webhook/{HOOK}"
        async with http.post(url, data=nested(5_000)) as response:
            assert response.status == 400
        async with http.post(url, data=b"plain words") as response:
            assert response.status == 202


async def test_a_long_string_is_refused_naming_its_field(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    body = {"mode": "force_charge", "power_w": 3000, "duration": "1h", "reason": "x" * 5000}
    async with http.post(f"{ui.url}/api/override", json=body) as response:
        assert response.status == 400
        problem = (await response.json())["problems"][0]
        assert problem["field"] == "reason" and "longer than 4096" in problem["message"]
    assert ui.service.override() is None


async def test_a_bad_runs_limit_is_400_naming_it(ui: Served, http: aiohttp.ClientSession) -> None:
    for limit in ("-1", "0", "1e308", "²", "9" * 5000, "1001"):
        async with http.get(f"{ui.url}/api/flows/demo/runs", params={"limit": limit}) as response:
            assert response.status == 400, limit
            assert (await response.json())["problems"][0]["field"] == "limit"
    async with http.get(f"{ui.url}/api/flows/demo/runs", params={"limit": "0005"}) as response:
        assert response.status == 200


@given(st.binary(max_size=300))
def test_parse_json_refuses_only_as_documented(body: bytes) -> None:
    try:
        parse_json(body)
    except (ValueError, BadBody):
        pass


@given(st.integers(min_value=1, max_value=200))
def test_the_depth_limit_is_exact(levels: int) -> None:
    limits = JsonLimits(depth=32)
    body = b'{"a": ' * (levels - 1) + b"[]" + b"}" * (levels - 1)
    if levels <= limits.depth:
        parse_json(body, limits)
    else:
        with pytest.raises(BadBody, match="deeper than 32"):
            parse_json(body, limits)


@given(st.text(max_size=12))
def test_whole_number_takes_only_plain_digits(text: str) -> None:
    found = whole_number(text, 1, 1000)
    plain = text.strip()
    if found is not None:
        assert plain.isascii() and plain.isdigit() and int(plain) == found
        assert 1 <= found <= 1000
    elif plain.isascii() and plain.isdigit():
        assert not 1 <= int(plain) <= 1000

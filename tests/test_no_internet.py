"""The suite's guard: no test reaches a real internet host (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest


def test_a_plain_socket_to_the_internet_is_refused() -> None:
    with pytest.raises(ConnectionRefusedError, match=r"tests may not reach 93\.184\.216\.34"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


async def test_an_http_client_to_the_internet_is_refused() -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorError):
            await asyncio.wait_for(http.get("http://93.184.216.34/"), 5)

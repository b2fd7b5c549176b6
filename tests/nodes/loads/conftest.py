"""Fake Shelly relays on free local ports, an HTTP session, and loads built from settings."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from nodes.loads.settings import LoadConfig, load_configs
from tests.nodes.loads.fake_shelly import FakeShellyGen1, FakeShellyGen2


def unused_port() -> int:
    """Another TCP port on 127.0.0.1 that nothing listens on now (free_port gives one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load(load_id: str = "pool", /, **raw: Any) -> LoadConfig:
    """One load's settings as the site config would give them (defaults filled in)."""
    section = {"power_w": 2000, "run_time": "4h", **raw}
    return load_configs({"loads": {load_id: section}})[load_id]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def gen1(free_port: int) -> AsyncIterator[FakeShellyGen1]:
    server = FakeShellyGen1(free_port)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def gen2(free_port: int) -> AsyncIterator[FakeShellyGen2]:
    server = FakeShellyGen2(free_port)
    await server.start()
    yield server
    await server.stop()

"""Fixtures shared across test packages (keep them generic)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.mosquitto import Mosquitto


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test talks only to servers of its own on this machine: a connection to any
    other host fails loudly instead of reaching a real provider."""
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in _LOCAL_HOSTS:
                raise ConnectionRefusedError(f"tests may not reach {host}: use a local server")
        return connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A private Mosquitto broker on a free port (never the machine's own on 1883)."""
    try:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
        broker.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield broker
    broker.stop()

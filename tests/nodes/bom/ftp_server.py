"""A local anonymous, read-only FTP server laid out like ftp.bom.gov.au (pyftpdlib, in a thread).

Tests put product files in ``/anon/gen/fwo`` from tests/fixtures/bom and read
back which files were asked for. pyftpdlib is a test dependency only.
"""

from __future__ import annotations

import shutil
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # pyftpdlib imports asyncore/asynchat, deprecated in 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
    from pyftpdlib.servers import FTPServer  # type: ignore[import-untyped]

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bom"
DIRECTORY = "/anon/gen/fwo"


class LocalBom:
    """Serves ``root`` on 127.0.0.1:``port``; ``retrieved`` lists every RETR, in order."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.products = root / DIRECTORY.strip("/")
        self.products.mkdir(parents=True, exist_ok=True)
        self.retrieved: list[str] = []
        self._stop = threading.Event()
        authorizer = DummyAuthorizer()
        authorizer.add_anonymous(str(root))  # read-only ("elr")
        retrieved = self.retrieved

        class Handler(FTPHandler):  # type: ignore[misc]
            def ftp_RETR(self, file: str) -> Any:
                retrieved.append(Path(file).name)
                return super().ftp_RETR(file)

        Handler.authorizer = authorizer
        self._server = FTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._serve, name="local-bom-ftp", daemon=True)

    def put(self, product: str, fixture: str, suffix: str = ".xml") -> None:
        """Publish fixture file ``fixture`` as ``<product><suffix>``."""
        target = self.products / f"{product}{suffix}"
        partial = target.with_name(target.name + ".partial")
        shutil.copy(FIXTURES / fixture, partial)
        partial.replace(target)  # atomic, as BOM's own uploads: a fetch never sees half a file

    def put_bytes(self, name: str, data: bytes) -> None:
        (self.products / name).write_bytes(data)

    def remove(self, product: str, suffix: str = ".xml") -> None:
        (self.products / f"{product}{suffix}").unlink()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.serve_forever(timeout=0.01, blocking=False)
        self._server.close_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextmanager
def local_bom(root: Path, port: int) -> Iterator[LocalBom]:
    server = LocalBom(root, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def silent_server(port: int) -> Iterator[None]:
    """A port that accepts connections and never says a word (no FTP banner)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        yield

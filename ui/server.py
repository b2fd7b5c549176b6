"""Serving the app with uvicorn inside an already running event loop."""

from __future__ import annotations

import asyncio
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

START_TIMEOUT_S = 10.0


class WebServer:
    """uvicorn on ``host:port`` as a task of this loop: ``start``/``stop`` or ``async with``."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        # proxy_headers off: a client's X-Forwarded-For must not pick its own address
        # (the sign-in lockout counts failures by address).
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                proxy_headers=False,
                                lifespan="off", ws="none", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Return once uvicorn listens; raise what stopped it if it could not start."""
        self._task = asyncio.create_task(self.server.serve(), name="web")
        async with asyncio.timeout(START_TIMEOUT_S):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("the web server stopped before it started")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._task is not None:
            self.server.should_exit = True
            await self._task
            self._task = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

"""Watching the flow files and the site config, so that an edit is reloaded live.

``WatchedFiles`` says which paths matter: the flow files of the flows directory
(``*.yaml``, not ``*.test.yaml``, ``secrets.yaml`` or the site config), the site
config and the ``secrets.yaml`` beside it. ``FileWatch`` watches their
directories with ``watchfiles`` (inotify on Linux) and calls back once a burst
of changes has been quiet for ``quiet_ms``: an editor's save (a temporary file,
then a rename) is one reload. Changes made while a reload runs are not lost:
they call back again once it is done. The callback reads everything again, so
a missed or repeated call is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, awatch

from flowengine.local import LOCAL_NODES_DIR
from powermaster.config import SECRETS_FILE

log = logging.getLogger("power_master")

#: How long a burst of changes must be quiet before it is reloaded (milliseconds).
QUIET_MS = 300
#: Not flow files, wherever they are.
NOT_FLOW_FILES = ("site.yaml", SECRETS_FILE)


@dataclass(frozen=True)
class WatchedFiles:
    """The flow directory and the site config that a running service was started on."""

    flows: Path
    config: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "flows", self.flows.resolve())
        object.__setattr__(self, "config", self.config.resolve())

    @property
    def directories(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys((self.flows, self.config.parent)))

    @property
    def not_flow_files(self) -> tuple[str, ...]:
        """Names in the flow directory that are not flow files."""
        if self.config.parent == self.flows:
            return (*NOT_FLOW_FILES, self.config.name)
        return NOT_FLOW_FILES

    def is_flow_file(self, path: Path) -> bool:
        return (
            path.parent.resolve() == self.flows
            and path.suffix == ".yaml"
            and not path.name.startswith(".")  # editors' lock and swap files
            and not path.name.endswith(".test.yaml")
            and path.name not in self.not_flow_files
        )

    def flow_files(self) -> list[Path]:
        return sorted(p for p in self.flows.glob("*.yaml") if self.is_flow_file(p))

    def is_local_node_file(self, path: Path) -> bool:
        """A Python file of the flows' own node types (``nodes/*.py`` beside them)."""
        return (
            path.parent.resolve() == self.flows / LOCAL_NODES_DIR
            and path.suffix == ".py"
            and not path.name.startswith((".", "_"))
        )

    def concerns(self, path: Path) -> bool:
        """Whether a change to ``path`` may change what runs."""
        path = path.parent.resolve() / path.name  # a link is watched where it is
        config = self.config
        return (
            path in (config, config.parent / SECRETS_FILE)
            or self.is_flow_file(path)
            or self.is_local_node_file(path)
        )


class FileWatch:
    """Calls ``on_change`` after the watched files change (see the module's docstring)."""

    def __init__(
        self,
        files: WatchedFiles,
        on_change: Callable[[], Awaitable[object]],
        quiet_ms: int = QUIET_MS,
    ) -> None:
        self.files = files
        self.on_change = on_change
        self.quiet_ms = quiet_ms
        self._stopping = asyncio.Event()
        self._pending = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [  # the reloading task last: stop cancels it
            asyncio.create_task(self._watch(), name="watch-files"),
            asyncio.create_task(self._apply(), name="reload-files"),
        ]
        await asyncio.sleep(0)  # the watching task's first step sets the watch up

    async def stop(self) -> None:
        """The watching thread notices within ``quiet_ms``; a reload in progress is cancelled."""
        self._stopping.set()
        if self._tasks:
            self._tasks[-1].cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _wanted(self, change: Change, path: str) -> bool:
        return self.files.concerns(Path(path))

    async def _watch(self) -> None:
        async for changes in awatch(
            *self.files.directories,
            watch_filter=self._wanted,
            step=self.quiet_ms,
            stop_event=self._stopping,
            recursive=False,
        ):
            log.debug("changed: %s", ", ".join(sorted(path for _, path in changes)))
            self._pending.set()

    async def _apply(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self.on_change()
            except Exception:  # the watch must outlive one bad reload; it is logged whole
                log.exception("reloading the changed files failed")

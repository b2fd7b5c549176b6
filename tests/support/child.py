"""A Python subprocess a test talks to line by line, every wait bounded by one deadline.

``child`` starts ``python <args>`` from the repository root with its output
(stdout and stderr together) piped back; ``Child.line`` reads until a line a
test wants, failing with the last lines said when the process ends or the
deadline passes first, so a hang fails with the child's story instead of
hanging CI. Leaving the block kills a process still running and reaps it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Child:
    """A subprocess whose output is read line by line as it comes."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, deadline: float) -> None:
        self.name = name
        self.process = process
        self.deadline = deadline
        self.lines: list[str] = []

    async def line(self, wanted: Callable[[str], bool], what: str) -> str:
        """The next output line ``wanted`` accepts; fails at EOF or the deadline."""
        stream = self.process.stdout
        assert stream is not None
        loop = asyncio.get_running_loop()
        while True:
            left = self.deadline - loop.time()
            try:
                raw = await asyncio.wait_for(stream.readline(), max(0.0, left))
            except TimeoutError:
                raise AssertionError(self.story(f"no {what} before the deadline")) from None
            if not raw:
                raise AssertionError(self.story(f"{self.name} ended before {what}"))
            text = raw.decode(errors="replace").rstrip()
            self.lines.append(text)
            if wanted(text):
                return text

    async def send(self, text: str) -> None:
        """One line to the child's standard input (``child(..., stdin=True)``)."""
        stream = self.process.stdin
        assert stream is not None, f"{self.name} was started without stdin"
        stream.write(text.encode() + b"\n")
        await stream.drain()

    async def drain(self) -> None:
        """Keep reading so a full pipe never blocks the process."""
        stream = self.process.stdout
        assert stream is not None
        while raw := await stream.readline():
            self.lines.append(raw.decode(errors="replace").rstrip())

    async def wait(self, what: str) -> int:
        """The exit code, reading what is left of the output; fails at the deadline."""
        left = self.deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(self.drain(), max(0.0, left))
            return await asyncio.wait_for(self.process.wait(), max(0.0, left))
        except TimeoutError:
            raise AssertionError(self.story(f"{self.name} still running: {what}")) from None

    def story(self, problem: str) -> str:
        return f"{problem}; {self.name} said:\n" + "\n".join(self.lines[-40:])


@asynccontextmanager
async def child(
    name: str, args: list[str], deadline: float, stdin: bool = False
) -> AsyncIterator[Child]:
    """``python <args>`` as a ``Child``; killed and reaped on leaving if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield Child(name, process, deadline)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        if process.returncode is None:
            process.kill()
        await process.wait()

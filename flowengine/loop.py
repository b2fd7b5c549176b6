"""Run the engine's top-level coroutine on the fastest event loop available.

uvloop (libuv) takes a third or more off the event loop's own cost, which is
most of a month's backtest, where every tick is a dozen Modbus round trips on
localhost. It has wheels for Linux on x86_64 and aarch64 (the Pi); where it is
missing the standard loop runs the same code unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - depends on the platform
        return asyncio.run(main)
    return uvloop.run(main)

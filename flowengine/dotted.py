"""Walking into JSON data by a dotted path (``telemetry.soc``, ``slots.0.mode``): how flow
files, flow tests and triggers all name a place inside a value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: What ``dig`` gives when the path leads nowhere (None may be a real value).
MISSING: Any = object()
_INDEX = re.compile(r"-?\d+")


def dig(value: Any, parts: Iterable[str]) -> Any:
    """The value at ``parts`` (a mapping's key, or a list's index, negative from the end),
    or ``MISSING``."""
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and _INDEX.fullmatch(part)
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return MISSING
    return value

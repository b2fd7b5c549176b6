"""Bounded previews of message payloads for traces.

A trace must say what each node got and gave without copying megabytes per hop:
scalars pass through as they are, containers are cut to a few items and a few
levels deep, long text is shortened. Keys that name secrets are masked.
"""

from __future__ import annotations

import functools
from typing import Any

from flowengine.yamlsource import SecretRef

MAX_ITEMS = 24
MAX_DEPTH = 3
MAX_TEXT = 200
SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "authorization")
#: What a secret is shown as wherever a value leaves the engine for people (traces, the
#: UI and the API, a node's error text): the same text everywhere, so it is known for one.
MASK = "••••••"

_SCALARS = (int, float, bool, type(None))


def summarize(value: Any, depth: int = 0) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… ({len(value)} chars)"
    if depth >= MAX_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more keys"
                break
            name = str(key)
            out[name] = MASK if is_secret_key(name) else summarize(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [summarize(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more items")
        return items
    text = repr(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def mask_secrets(value: Any) -> Any:
    """A copy of config-like data with secret-looking keys masked (for the UI and API)."""
    if isinstance(value, SecretRef):
        return MASK
    if isinstance(value, dict):
        return {k: MASK if is_secret_key(str(k)) else mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value

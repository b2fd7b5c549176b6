"""The providers each kind of input can come from, by name (``sources:`` in site.yaml).

Provider packages (amber, solcast, replay, ...) are found the way the engine finds
node types: through the ``flowengine.nodes`` entry points. Each declares its
providers' pinned node types (``provider_node``), and those name the providers.
So this package imports none of them, while they all import it: the node
packages stay free of import cycles, and a package installed beside Power
Master offers its providers by declaring its node types, as for anything else.
"""

from __future__ import annotations

from functools import cache

from flowengine.registry import default_registry
from nodes.inputs.provider import Provider

_EXTRA: list[type[Provider]] = []


@cache
def installed() -> tuple[type[Provider], ...]:
    """Every provider of the installed node packages, in the entry points' order.

    Read once, as the engine reads its entry points once: a package installed
    later is found at the next start."""
    found: list[type[Provider]] = []
    for node_type in default_registry().nodes.values():
        provider = getattr(node_type, "provider_type", None)  # set by provider_node
        if isinstance(provider, type) and issubclass(provider, Provider) and provider not in found:
            found.append(provider)
    return tuple(found)


def register(provider: type[Provider]) -> type[Provider]:
    """Add a provider beyond the installed ones (your own, or a test's); usable as a decorator."""
    if provider not in _EXTRA:
        _EXTRA.append(provider)
    return provider


def providers(kind: str) -> dict[str, type[Provider]]:
    """Name -> provider class for ``kind``: the installed ones, then any registered."""
    return {p.name: p for p in [*installed(), *_EXTRA] if p.kind == kind}

"""The providers each kind of input can come from, by name (``sources:`` in site.yaml)."""

from __future__ import annotations

from nodes.inputs.provider import Provider

_EXTRA: list[type[Provider]] = []


def register(provider: type[Provider]) -> type[Provider]:
    """Add a provider beyond the catalog's (your own, or a test's); usable as a decorator."""
    if provider not in _EXTRA:
        _EXTRA.append(provider)
    return provider


def providers(kind: str) -> dict[str, type[Provider]]:
    """Name -> provider class for ``kind``: the catalog's, then any registered."""
    from nodes.inputs.catalog import PROVIDERS  # at call time: packages import this package

    return {p.name: p for p in [*PROVIDERS, *_EXTRA] if p.kind == kind}

"""The registry tests build engines with: one way, so a test names only what it adds."""

from __future__ import annotations

from flowengine import Registry
from flowengine.registry import Declared
from nodes.core import CONNECTION_TYPES, NODE_TYPES
from tests.support.nodes import TEST_TYPES


def registry(*types: Declared) -> Registry:
    """The core node and connection types, the test node types (``test.*``), and
    ``types`` (a node package's ``NODE_TYPES``, a test's own node)."""
    reg = Registry()
    reg.add_all([*NODE_TYPES, *CONNECTION_TYPES, *TEST_TYPES, *types])
    return reg

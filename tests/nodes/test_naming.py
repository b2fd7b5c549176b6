"""Node packages are named for their node types, and their files for what they hold.

The rule (docs/architecture.md, "Node packages and their files"):

- a node type ``X.verb`` is registered by the package ``nodes/X/`` (its ``NODE_TYPES``,
  through the ``flowengine.nodes`` entry point named ``X``); so are its connection and
  trigger types;
- its class is defined in that package; an input provider's type is made by
  ``nodes.inputs`` (``provider_node``) but its provider lives in, and its type is
  registered by, the provider's own package;
- a module is named for what it holds: its node types' verb or family, or a helper's
  job, never ``node.py``, ``nodes.py`` or ``*_node.py``.

Checked on the live registry, so a node type added or moved anywhere is held to it.
"""

from __future__ import annotations

import re
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pytest

from flowengine import Node, default_registry

NODES = Path(__file__).resolve().parents[2] / "nodes"
NODE_GROUP = "flowengine.nodes"
#: Module names that say nothing of what a module holds.
VAGUE = ("node.py", "nodes.py")


def _ours(group: str) -> list[EntryPoint]:
    """This checkout's entry points of ``group`` (``nodes.<package>:<LIST>``)."""
    return sorted(
        (point for point in entry_points(group=group) if point.module.startswith("nodes.")),
        key=lambda point: point.name,
    )


def _package(point: EntryPoint) -> str:
    return point.module.removeprefix("nodes.")


def _declared() -> list[tuple[str, type[Any]]]:
    """(registering package, type) for every type our entry points declare."""
    return [
        (_package(point), kind)
        for point in _ours(NODE_GROUP)
        for kind in point.load()
        if isinstance(kind, type)  # not a SiteSection (a settings section, no type name)
    ]


@pytest.mark.parametrize("point", _ours(NODE_GROUP), ids=lambda point: point.name)
def test_each_entry_point_is_a_package_of_its_own_name(point: EntryPoint) -> None:
    assert point.attr == "NODE_TYPES"
    assert "." not in _package(point), f"{point.value}: a package directly under nodes/"
    assert point.name == _package(point), f"entry point {point.name} = {point.value}"


def test_every_type_name_starts_with_its_package() -> None:
    wrong = [
        f"{kind.type_name} is registered by nodes.{package}"
        for package, kind in _declared()
        if kind.type_name.split(".")[0] != package
    ]
    assert wrong == []


def test_every_type_is_defined_in_the_package_that_registers_it() -> None:
    wrong = []
    for package, kind in _declared():
        provider = getattr(kind, "provider_type", None)
        # An input provider's node type is made by nodes.inputs; its provider is the package's.
        home = provider.__module__ if provider is not None else kind.__module__
        if not home.startswith(f"nodes.{package}."):
            wrong.append(f"{kind.type_name}: {home}, registered by nodes.{package}")
    assert wrong == []


def test_the_registry_holds_exactly_the_declared_node_types() -> None:
    """No node type of ours reaches the registry other than through its package's list."""
    registry = default_registry()
    assert registry.broken == {}
    ours = {name for name, kind in registry.nodes.items() if kind.__module__.startswith("nodes.")}
    declared = {kind.type_name for _, kind in _declared() if issubclass(kind, Node)}
    assert ours == declared


def test_every_package_with_node_types_has_its_entry_point() -> None:
    registered = {_package(point) for point in _ours(NODE_GROUP)}
    declaring = {
        init.parent.name
        for init in NODES.glob("*/__init__.py")
        if re.search(r"^NODE_TYPES\b", init.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert declaring == registered


def test_no_module_is_named_node_or_nodes() -> None:
    vague = [
        str(path.relative_to(NODES.parent))
        for path in sorted(NODES.rglob("*.py"))
        if path.name in VAGUE or path.name.endswith("_node.py")
    ]
    assert vague == []

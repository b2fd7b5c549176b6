"""The node-type and connection-type registry.

Types arrive through Python entry points, so another package adds nodes by
declaring, in its own ``pyproject.toml``::

    [project.entry-points."flowengine.nodes"]
    mypkg = "mypkg.nodes:NODE_TYPES"

where ``NODE_TYPES`` lists everything the package declares: ``Node``,
``Connection`` and ``Trigger`` subclasses and its site-config sections, told
apart by kind. One entry point per package, one way to register.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from flowengine.node import Connection, Node
from flowengine.settings import SiteSection
from flowengine.triggers import Trigger

log = logging.getLogger("flowengine")

#: What a package's ``NODE_TYPES`` list may hold.
Declared = type[Node] | type[Connection] | type[Trigger] | SiteSection

NODE_GROUP = "flowengine.nodes"


class RegistryError(Exception):
    pass


class Registry:
    """Every node and connection type the engine can build, by type name."""

    def __init__(self) -> None:
        self.nodes: dict[str, type[Node]] = {}
        self.connections: dict[str, type[Connection]] = {}
        self.triggers: dict[str, type[Trigger]] = {}
        #: Settings-file sections the packages own (``flowengine.settings``).
        self.sections: dict[str, SiteSection] = {}
        self.broken: dict[str, str] = {}
        #: Entry points read at start: a package installed later is not loaded until restart.
        self.loaded_points: set[str] = set()

    def copy(self) -> Registry:
        """Another registry with the same types, to add more to (local node types)."""
        other = Registry()
        other.nodes = dict(self.nodes)
        other.connections = dict(self.connections)
        other.triggers = dict(self.triggers)
        other.sections = dict(self.sections)
        other.broken = dict(self.broken)
        other.loaded_points = set(self.loaded_points)
        return other

    def installed_since_start(self) -> list[str]:
        """Node packages installed after this registry read its entry points."""
        if not self.loaded_points:
            return []
        now = {f"{NODE_GROUP}:{point.name}" for point in entry_points(group=NODE_GROUP)}
        return sorted(name.partition(":")[2] for name in now - self.loaded_points)

    def add_node(self, node_type: type[Node]) -> None:
        _check_declared(node_type)
        existing = self.nodes.get(node_type.type_name)
        if existing is not None and existing is not node_type:
            raise RegistryError(
                f"node type '{node_type.type_name}' is registered twice: "
                f"{existing.__module__}.{existing.__name__} and "
                f"{node_type.__module__}.{node_type.__name__}"
            )
        self.nodes[node_type.type_name] = node_type

    def add_connection(self, connection_type: type[Connection]) -> None:
        _check_declared(connection_type)
        self.connections[connection_type.type_name] = connection_type

    def add_trigger(self, trigger_type: type[Trigger]) -> None:
        _check_declared(trigger_type)
        self.triggers[trigger_type.type_name] = trigger_type

    def trigger_options(self) -> dict[str, dict[str, Any]]:
        """Each package trigger's options, in the shape ``flowengine.schema`` uses."""
        return {
            name: {"description": kind.description, "required": [], **kind.options}
            for name, kind in self.triggers.items()
        }

    def add_section(self, section: SiteSection) -> None:
        existing = self.sections.get(section.name)
        if existing is not None and existing != section:
            raise RegistryError(
                f"settings section '{section.name}' is claimed twice: by {existing.owner or '?'} "
                f"and {section.owner or '?'}"
            )
        self.sections[section.name] = section

    def add_all(self, types: Iterable[Any]) -> None:
        for item in types:
            if isinstance(item, SiteSection):
                self.add_section(item)
            elif issubclass(item, Connection):
                self.add_connection(item)
            elif issubclass(item, Trigger):
                self.add_trigger(item)
            else:
                self.add_node(item)

    def load_entry_points(self) -> Registry:
        """Add every type that installed packages declare. Returns self.

        A package whose types fail to import is logged and skipped: flows that
        use its types then fail validation by name, and the rest still run.
        """
        for point in sorted(entry_points(group=NODE_GROUP), key=lambda p: p.name):
            self.loaded_points.add(f"{NODE_GROUP}:{point.name}")
            try:
                types = point.load()
            except (ImportError, AttributeError) as exc:
                self.broken[point.name] = f"{point.value}: {exc}"
                log.error("node package '%s' (%s) failed to load: %s", point.name, point.value, exc)
                continue
            self.add_all(types)
        return self


def _check_declared(kind: type[Any]) -> None:
    if not kind.type_name:
        raise RegistryError(f"{kind.__module__}.{kind.__name__} has no type_name")
    if not kind.description:
        raise RegistryError(f"type '{kind.type_name}' has no description")


def default_registry() -> Registry:
    """A registry holding every type that installed packages declare."""
    return Registry().load_entry_points()

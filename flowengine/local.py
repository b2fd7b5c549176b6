"""Node types of one's own, without packaging: Python files in a ``nodes/`` folder beside
the flows, each with a ``NODE_TYPES`` list, loaded (and reloaded) with the flows.

A file that does not import, or whose types are not node types, is refused with its
``FILE:LINE``, like a flow file that does not validate. These files run inside the
service with its rights: they are code, as trusted as the service's own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from flowengine.errors import InvalidFlows, Problem
from flowengine.node import Connection, Node
from flowengine.registry import Registry, RegistryError
from flowengine.triggers import Trigger

#: The folder beside the flow files that holds local node types.
LOCAL_NODES_DIR = "nodes"
_MODULE_PREFIX = "flowengine_local"


def local_files(flows_dir: Path) -> list[Path]:
    folder = flows_dir / LOCAL_NODES_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith((".", "_")))


def fingerprint(flows_dir: Path) -> str:
    """What the local node files hold now (a change means: rebuild every flow)."""
    digest = hashlib.sha256()
    for path in local_files(flows_dir):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def with_local_types(registry: Registry, flows_dir: Path) -> Registry:
    """``registry`` plus the types in ``flows_dir/nodes/*.py``; InvalidFlows if any fails."""
    combined, problems = local_types(registry, flows_dir)
    if problems:
        raise InvalidFlows(problems)
    return combined


def local_types(registry: Registry, flows_dir: Path) -> tuple[Registry, list[Problem]]:
    """``registry`` plus the types of the files that load, and the problems of the rest."""
    files = local_files(flows_dir)
    if not files:
        return registry, []
    combined = registry.copy()
    problems: list[Problem] = []
    for path in files:
        module = _import(path, problems)
        if module is not None:
            _register(module, path, registry, combined, problems)
    return combined, problems


def _import(path: Path, problems: list[Problem]) -> ModuleType | None:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"{_MODULE_PREFIX}.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        problems.append(Problem(str(path), 1, 1, "cannot be imported as a Python file"))
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look a module up by its name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        problems.append(Problem(str(path), exc.lineno or 1, exc.offset or 1, f"{exc.msg}"))
        return None
    except Exception as exc:  # any error in the user's module is reported, never raised
        sys.modules.pop(name, None)
        line = next(
            (
                f.lineno
                for f in reversed(traceback.extract_tb(exc.__traceback__))
                if Path(f.filename) == path
            ),
            1,
        )
        problems.append(Problem(str(path), line or 1, 1, f"{type(exc).__name__}: {exc}"))
        return None
    return module


def _register(
    module: ModuleType, path: Path, installed: Registry, combined: Registry, problems: list[Problem]
) -> None:
    types: Any = getattr(module, "NODE_TYPES", None)
    if not isinstance(types, list | tuple):
        problems.append(
            Problem(str(path), 1, 1, "defines no NODE_TYPES list (the node classes it offers)")
        )
        return
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, Node | Connection | Trigger)):
            problems.append(
                Problem(str(path), 1, 1, f"NODE_TYPES holds {kind!r}, which is not a node type")
            )
            continue
        name = kind.type_name
        if name in installed.nodes or name in installed.connections or name in installed.triggers:
            problems.append(
                Problem(str(path), 1, 1, f"type '{name}' is already installed; choose another name")
            )
            continue
        try:
            combined.add_all([kind])
        except RegistryError as exc:  # no type_name or description, or a name used twice
            problems.append(Problem(str(path), 1, 1, str(exc)))

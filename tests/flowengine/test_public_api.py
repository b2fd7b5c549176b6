"""flowengine's public API, pinned (as httpx pins its own): what the package exports, and
which of its modules node packages may import from.

A change to the public API should be a decision, made here in plain sight; a node
package that reaches into the engine's internals ties the two together where nobody
promised to keep them still.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from pathlib import Path

import flowengine

ROOT = Path(__file__).resolve().parents[2]

#: In ruff's order (RUF022): constants, then classes, then functions, each A to Z.
PUBLIC_NAMES = [
    "MASK",
    "MISSING",
    "Clock",
    "Connection",
    "Engine",
    "FlowObserver",
    "FlowSet",
    "FlowSpec",
    "HandBack",
    "InvalidFlows",
    "Message",
    "Node",
    "NodeContext",
    "NodeFailure",
    "Output",
    "Problem",
    "RealClock",
    "Registry",
    "RunTrace",
    "VirtualClock",
    "default_registry",
    "dig",
    "json_dumps",
    "load_flow_dir",
    "load_flow_files",
    "load_flow_text",
    "local_iso",
    "open_database",
    "run_to_end",
    "transaction",
]

#: Modules a node package may import from: every name without a leading underscore
#: (only those in ``__all__``, for a module that has one). Each is public because the
#: docs or the module itself address node packages (``docs/writing-flows.md``; the
#: ``migrations``, ``secrets`` and ``settings`` docstrings; ``Trigger``'s and
#: ``Declared``'s), or because a public object hands one out (``Engine.context`` is a
#: ``ContextStore``).
PUBLIC_MODULES = frozenset(
    {
        "flowengine",
        "flowengine.clock",
        "flowengine.context",
        "flowengine.durations",
        "flowengine.errors",
        "flowengine.expressions",
        "flowengine.message",
        "flowengine.migrations",
        "flowengine.node",
        "flowengine.registry",
        "flowengine.schema",
        "flowengine.secrets",
        "flowengine.settings",
        "flowengine.triggers",
    }
)


def test_the_exported_names_are_exactly_these() -> None:
    assert flowengine.__all__ == PUBLIC_NAMES
    assert sorted(PUBLIC_NAMES, key=_ruff_order) == PUBLIC_NAMES


def test_every_public_name_in_the_package_is_exported() -> None:
    """As httpx checks: nothing public sits in the package without being in ``__all__``."""
    public = [
        name
        for name, value in vars(flowengine).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ]
    assert sorted(public, key=_ruff_order) == PUBLIC_NAMES


def test_every_exported_name_imports() -> None:
    namespace: dict[str, object] = {}
    exec("from flowengine import *", namespace)  # an __all__ naming nothing raises here
    assert set(namespace) - {"__builtins__"} == set(PUBLIC_NAMES)


def test_every_exported_name_is_documented() -> None:
    undocumented = {name for name in PUBLIC_NAMES if not _documented(name)}
    assert undocumented == set()


def test_node_packages_import_only_the_public_api() -> None:
    internal = {use for use in _flowengine_imports() if not _public(use[1])}
    assert internal == set(), "node modules importing engine internals"


def test_private_names_and_internal_modules_are_told_apart() -> None:
    """The check above can fail: an underscore name, a name left out of a module's
    ``__all__``, a module a public one happens to import, and an internal module."""
    assert _public("flowengine.Engine")
    assert _public("flowengine.clock.VirtualClock")
    assert _public("flowengine.secrets.reveal")
    assert not _public("flowengine.triggers._next_multiple")
    assert not _public("flowengine.secrets.JsonPath")  # not in its __all__
    assert not _public("flowengine.expressions.language")  # a submodule, not in __all__
    assert not _public("flowengine.context.sqlite3")
    assert _public("flowengine.MASK")
    assert not _public("flowengine.summary.MASK")  # the same value, by an internal module
    assert not _public("flowengine.jsondata")


def _ruff_order(name: str) -> tuple[int, str]:
    """RUF022's isort-style order: SCREAMING_CASE, then CamelCase, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _documented(name: str) -> bool:
    """A class or function has a docstring of its own (not a dataclass's generated
    signature); a value such as a type alias has a ``#:`` comment where it is defined."""
    value = getattr(flowengine, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        doc = value.__doc__ or ""
        return bool(doc.strip()) and not doc.startswith(f"{name}(")
    return _has_comment_doc(_defined_in(name), name)


def _defined_in(name: str) -> str:
    """The module ``flowengine/__init__.py`` imports ``name`` from."""
    tree = ast.parse(Path(flowengine.__file__).read_text(encoding="utf-8"))
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and any(a.name == name for a in statement.names):
            return str(statement.module)
    raise AssertionError(f"flowengine/__init__.py does not import {name}")


def _has_comment_doc(module: str, name: str) -> bool:
    text = Path(str(importlib.import_module(module).__file__)).read_text(encoding="utf-8")
    lines = text.splitlines()
    for statement in ast.parse(text).body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return lines[statement.lineno - 2].lstrip().startswith("#:")
    return False


def _flowengine_imports() -> set[tuple[str, str]]:
    """(node module, dotted name) for each flowengine module or name a node module imports,
    at its top or inside a function."""
    uses: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "nodes").rglob("*.py")):
        file = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), file)):
            uses |= {(file, name) for name in _imported(node) if _is_flowengine(name)}
    return uses


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_flowengine(node.module or ""):
        return [_resolve(str(node.module), alias.name) for alias in node.names]
    return []


def _is_flowengine(module: str) -> bool:
    return module == "flowengine" or module.startswith("flowengine.")


def _resolve(module: str, name: str) -> str:
    """``module.name``, or the module itself when ``name`` is one (``from flowengine
    import jsondata`` uses the module ``flowengine.jsondata``)."""
    value = getattr(importlib.import_module(module), name, None)
    return value.__name__ if isinstance(value, types.ModuleType) else f"{module}.{name}"


def _public(dotted: str) -> bool:
    if dotted in PUBLIC_MODULES:
        return True
    module_name, _, name = dotted.rpartition(".")
    if module_name not in PUBLIC_MODULES or name.startswith("_"):
        return False
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return name in exported
    value = getattr(module, name, None)
    return value is not None and not isinstance(value, types.ModuleType)

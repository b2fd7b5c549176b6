"""The import contracts in .importlinter hold: the layers, and node packages without cycles.

Run here as well as in CI (``.ci/run``) so a test run catches an import that
reaches up a layer, or closes a cycle among the node packages, with the
linter's own report of where it is.
"""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
#: lint-imports in this interpreter (the console script may not be on PATH); no cache
#: files left behind in the checkout.
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(no_cache=True, no_logo=True))"
)


def test_the_import_contracts_are_kept() -> None:
    run = subprocess.run(
        [sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"lint-imports failed:\n{run.stdout}\n{run.stderr}"
    assert "0 broken" in run.stdout


def test_no_contract_excepts_an_import() -> None:
    """A violation is fixed by moving code: no contract lists imports to ignore."""
    config = configparser.ConfigParser()
    config.read(CONFIG)
    contracts = [name for name in config.sections() if name.startswith("importlinter:contract:")]
    assert {"importlinter:contract:layers", "importlinter:contract:nodes-acyclic"} <= {*contracts}
    assert [name for name in contracts if config.has_option(name, "ignore_imports")] == []


#: Imports that may stay inside a function: optional dependencies, loaded only when used.
OPTIONAL_IMPORTS = {"uvloop", "highspy", "pulp"}
PACKAGES = ("flowengine", "nodes", "powermaster", "ui")


def _function_level_imports(path: Path) -> list[str]:
    """Each import inside a function body (not under ``if TYPE_CHECKING``), as file:line module."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            modules = [m for m in modules if m.split(".")[0] not in OPTIONAL_IMPORTS]
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {m}" for m in modules]
    return found


def test_no_import_hides_in_a_function() -> None:
    """A function-level import hides a cycle (or a layer broken) from the linter: only
    optional dependencies may be imported where they are used."""
    hidden = [
        where
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for where in _function_level_imports(path)
    ]
    assert hidden == []

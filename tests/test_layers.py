"""The import contracts in .importlinter hold: the layers, and node packages without cycles.

Run here as well as in CI (``.ci/run``) so a test run catches an import that
reaches up a layer, or closes a cycle among the node packages, with the
linter's own report of where it is.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
#: lint-imports in this interpreter (the console script may not be on PATH); no cache
#: files left behind in the checkout.
LINT = "import sys; from importlinter.cli import lint_imports; " \
       "sys.exit(lint_imports(no_cache=True, no_logo=True))"  # fmt: skip


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

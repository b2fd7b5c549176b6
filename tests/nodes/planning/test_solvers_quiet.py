"""The solvers print nothing: HiGHS' banner and logs would land on the service's stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# A fresh process: HiGHS prints its banner once per process, at the first Highs made.
SOLVE = """
from nodes.planning.linear import LinearModel
from nodes.planning.solvers import solve_highs, solve_pulp
lm = LinearModel()
x = lm.var("x", ub=4.0, cost=-1.0)
b = lm.var("b", binary=True, cost=0.5)
lm.row("link", [(x, 1.0), (b, -4.0)], ub=0.0)
if "{solver}" == "highs":
    result = solve_highs(lm, 5.0, 0.0)
else:
    result = solve_pulp(lm, "{solver}", 5.0, 0.0)
assert abs(result.objective + 3.5) < 1e-6, result
"""


@pytest.mark.parametrize("solver", ["highs", "highs-pulp"])
def test_a_first_solve_prints_nothing(solver: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SOLVE.format(solver=solver)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "HiGHS" not in done.stderr


def test_what_python_wrote_before_is_not_lost(capfd: pytest.CaptureFixture[str]) -> None:
    from nodes.planning import solvers

    print("before", end="")  # still in Python's buffer when the descriptor moves
    with solvers._stdout_discarded():
        pass
    print(" after")
    assert capfd.readouterr().out == "before after\n"

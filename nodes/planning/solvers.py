"""Run a LinearModel on HiGHS (direct highspy, or via PuLP) or CBC (via PuLP).

Both PuLP wrappers report a time-limited solve that found *some* solution as
LpStatusOptimal; only sol_status tells them apart, so we check both. Anything short of a
proven optimum raises PlanError so the caller keeps its previous plan.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nodes.planning.linear import LinearModel

if TYPE_CHECKING:
    import highspy

# How far from 0 or 1 HiGHS still counts a binary as integral (its default, set explicitly
# so it is known). Indicator rows switch flows of up to a limit M on a binary, so a flow the
# binary "forbids" can still carry M x this: 0.01 W against a 10 kW grid limit.
INTEGRALITY_TOLERANCE = 1e-6


class PlanError(RuntimeError):
    """The solver did not prove an optimal plan (infeasible, timeout, solver failure)."""

    def __init__(self, status: str, solver: str) -> None:
        super().__init__(f"{solver}: no optimal plan (status {status})")
        self.status = status
        self.solver = solver


class SolverUnavailable(RuntimeError):
    """The solver could not run at all (missing, crashed); worth trying the fallback."""


@dataclass
class SolveResult:
    values: list[float]
    objective: float
    status: str
    solver: str
    build_ms: float  # handing the model to the solver (PuLP objects / HiGHS arrays)
    solve_ms: float  # the solver run, including its wrapper's own model translation


#: HiGHS prints its banner ("Running HiGHS 1.16.0 ... Copyright ...") on standard output
#: from C++, once per process, when the first ``Highs`` is made, before any option can
#: turn it off. ``quiet_highs`` makes that first one with the descriptor pointed away.
_banner_lock = threading.Lock()
_banner_swallowed = False


def quiet_highs() -> highspy.Highs:
    """A ``highspy.Highs`` that prints nothing (the banner swallowed, output off)."""
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailable(f"highspy not importable: {exc}") from exc

    global _banner_swallowed
    with _banner_lock:
        if not _banner_swallowed:
            with _stdout_discarded():
                highspy.Highs()  # type: ignore[no-untyped-call]
            _banner_swallowed = True
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


@contextlib.contextmanager
def _stdout_discarded() -> Iterator[None]:
    """File descriptor 1 to the null device (what C code writes there is lost)."""
    sys.stdout.flush()  # what Python holds for it goes out first, not into the null device
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


Rounder = Callable[[list[float]], "list[float] | None"]


def solve_highs(
    lm: LinearModel,
    time_limit_s: float,
    mip_rel_gap: float,
    rounder: Rounder | None = None,
    mip_abs_gap: float = 0.0,
) -> SolveResult:
    """Pass the sparse arrays to highspy in one call: no per-variable Python objects.

    With a rounder, the LP relaxation is solved first; if the rounder turns its solution
    into an integral point of equal cost, that point is optimal and the MIP is never run
    (HiGHS' MIP root work dominates otherwise). If not, the MIP is solved from there. (An
    intermediate MIP over the non-indicator binaries only was measured slower than going
    straight to the full MIP, 2-4x on deferrable-load cases.)
    """
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailable(f"highspy not importable: {exc}") from exc
    t0 = time.perf_counter()
    h = quiet_highs()
    # One thread: a 96-slot MIP gains nothing from HiGHS' worker threads here, and they
    # spin on the Pi's other cores (and beside the service's own event loop).
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("mip_abs_gap", float(mip_abs_gap))
    h.setOptionValue("mip_feasibility_tolerance", INTEGRALITY_TOLERANCE)
    lp = highspy.HighsLp()
    lp.num_col_ = lm.n_cols
    lp.num_row_ = lm.n_rows
    lp.col_cost_ = lm.cost
    lp.col_lower_ = lm.lb
    lp.col_upper_ = [highspy.kHighsInf if math.isinf(u) else u for u in lm.ub]
    lp.row_lower_ = [-highspy.kHighsInf if math.isinf(v) else v for v in lm.row_lb]
    lp.row_upper_ = [highspy.kHighsInf if math.isinf(v) else v for v in lm.row_ub]
    lp.offset_ = lm.offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = lm.n_cols
    lp.a_matrix_.num_row_ = lm.n_rows
    lp.a_matrix_.start_ = lm.row_start
    lp.a_matrix_.index_ = lm.row_index
    lp.a_matrix_.value_ = lm.row_value
    k_int, k_cont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    int_cols = [j for j, i in enumerate(lm.integer) if i]
    stages: list[list[int]] = [int_cols]
    if rounder is not None and int_cols:
        # The LP relaxation is a lower bound on the MIP: an equal-cost rounding is optimal.
        stages = [[], int_cols]
    if stages[0]:
        lp.integrality_ = [k_int if i else k_cont for i in lm.integer]
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverUnavailable("highspy rejected the model")
    build_ms = _ms(t0)
    t1 = time.perf_counter()
    done: set[int] = set(stages[0])
    for k, stage in enumerate(stages):
        if k > 0:
            left = time_limit_s - (time.perf_counter() - t1)
            h.setOptionValue("time_limit", max(1e-3, left))
            new = [j for j in stage if j not in done]
            h.changeColsIntegrality(len(new), new, [k_int] * len(new))  # type: ignore[arg-type]
            done.update(new)
        run_status = h.run()
        last = k == len(stages) - 1
        if last or rounder is None or h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        y = rounder(list(h.getSolution().col_value))
        if y is not None:
            return SolveResult(y, lm.objective_at(y), "Optimal", "highs", build_ms, _ms(t1))
    solve_ms = _ms(t1)
    model_status = h.getModelStatus()
    status = h.modelStatusToString(model_status)
    if run_status == highspy.HighsStatus.kError and model_status in (
        highspy.HighsModelStatus.kSolveError,
        highspy.HighsModelStatus.kModelError,
        highspy.HighsModelStatus.kLoadError,
        highspy.HighsModelStatus.kPresolveError,
        highspy.HighsModelStatus.kPostsolveError,
    ):
        raise SolverUnavailable(f"HiGHS failed: {status}")
    if model_status != highspy.HighsModelStatus.kOptimal:
        raise PlanError(status, "highs")
    values = list(h.getSolution().col_value)
    return SolveResult(values, h.getObjectiveValue(), "Optimal", "highs", build_ms, solve_ms)


def to_pulp(lm: LinearModel, name: str = "power_master_plan") -> tuple[Any, list[Any]]:
    """Named PuLP problem from the same arrays; prob.writeLP() gives a readable model."""
    import pulp  # type: ignore[import-untyped]

    prob = pulp.LpProblem(name, pulp.LpMinimize)
    cols = [
        prob.add_variable(
            nm,
            lowBound=None if math.isinf(lo) else lo,
            upBound=None if math.isinf(up) else up,
            cat=pulp.LpBinary if integer else pulp.LpContinuous,
        )
        for nm, lo, up, integer in zip(lm.names, lm.lb, lm.ub, lm.integer, strict=True)
    ]
    prob.setObjective(
        pulp.LpAffineExpression([(cols[j], c) for j, c in enumerate(lm.cost) if c], lm.offset)
    )
    for r, rname in enumerate(lm.row_names):
        a, b = lm.row_start[r], lm.row_start[r + 1]
        expr = pulp.LpAffineExpression(
            [(cols[j], v) for j, v in zip(lm.row_index[a:b], lm.row_value[a:b], strict=True)]
        )
        lo, up = lm.row_lb[r], lm.row_ub[r]
        if lo == up:
            prob.addConstraint(expr == lo, rname)
            continue
        if not math.isinf(lo):
            prob.addConstraint(expr >= lo, rname + "_lo")
        if not math.isinf(up):
            prob.addConstraint(expr <= up, rname + "_hi")
    return prob, cols


def _cbc_path() -> str | None:
    """PuLP's bundled CBC binary; None lets COIN_CMD search PATH (pulp[cbc] in PuLP 4).

    PULP_CBC_CMD itself warns that it is going away in PuLP 4, so we drive the same
    binary through COIN_CMD.
    """
    import pulp

    path = getattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", None)
    return path if path and os.access(path, os.X_OK) else None


def solve_pulp(
    lm: LinearModel, solver: str, time_limit_s: float, mip_rel_gap: float, mip_abs_gap: float = 0.0
) -> SolveResult:
    """Solve through PuLP with CBC ("cbc") or PuLP's highspy wrapper ("highs-pulp")."""
    import pulp

    t0 = time.perf_counter()
    prob, cols = to_pulp(lm)
    if solver == "cbc":
        engine = pulp.COIN_CMD(
            path=_cbc_path(),
            msg=False,
            timeLimit=time_limit_s,
            gapRel=mip_rel_gap,
            gapAbs=mip_abs_gap,
        )
    else:
        quiet_highs()  # PuLP's wrapper makes its own Highs: the banner must be gone by then
        engine = pulp.HiGHS(
            msg=False, timeLimit=time_limit_s, gapRel=mip_rel_gap, gapAbs=mip_abs_gap
        )
    if not engine.available():
        raise SolverUnavailable(f"{solver} not available")
    build_ms = _ms(t0)
    t1 = time.perf_counter()
    try:
        prob.solve(engine)
    except pulp.PulpSolverError as exc:
        raise SolverUnavailable(f"{solver}: {exc}") from exc
    solve_ms = _ms(t1)
    status = pulp.LpStatus[prob.status]
    if solver == "highs-pulp":  # PuLP maps HiGHS' time limit to "Optimal"; ask HiGHS itself
        hs = prob.solverModel
        status = hs.modelStatusToString(hs.getModelStatus())
    proven = prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
    if not proven or status != "Optimal":
        raise PlanError(status if status != "Optimal" else "stopped early (feasible)", solver)
    values = [c.varValue if c.varValue is not None else 0.0 for c in cols]
    return SolveResult(values, lm.objective_at(values), "Optimal", solver, build_ms, solve_ms)

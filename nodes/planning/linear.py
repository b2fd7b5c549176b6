"""Solver-neutral sparse MILP: one formulation, handed to highspy directly or to PuLP.

Building plain Python lists and passing them to HiGHS in one call avoids PuLP's per-variable
object overhead; the same lists rebuild a named PuLP problem for CBC and for reading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

INF = math.inf


@dataclass
class LinearModel:
    """Minimise cost·x + offset subject to row_lb <= A x <= row_ub, lb <= x <= ub."""

    names: list[str] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_names: list[str] = field(default_factory=list)
    row_lb: list[float] = field(default_factory=list)
    row_ub: list[float] = field(default_factory=list)
    row_start: list[int] = field(default_factory=lambda: [0])
    row_index: list[int] = field(default_factory=list)
    row_value: list[float] = field(default_factory=list)
    offset: float = 0.0

    @property
    def n_cols(self) -> int:
        return len(self.lb)

    @property
    def n_rows(self) -> int:
        return len(self.row_lb)

    def var(
        self, name: str, lb: float = 0.0, ub: float = INF, cost: float = 0.0, binary: bool = False
    ) -> int:
        """Add a column and return its index."""
        self.names.append(name)
        self.lb.append(lb)
        self.ub.append(1.0 if binary else ub)
        self.cost.append(cost)
        self.integer.append(binary)
        return len(self.lb) - 1

    def row(
        self, name: str, terms: Iterable[tuple[int, float]], lb: float = -INF, ub: float = INF
    ) -> None:
        """Add lb <= sum(coef * x[col]) <= ub."""
        for col, coef in terms:
            if coef != 0.0:
                self.row_index.append(col)
                self.row_value.append(coef)
        self.row_start.append(len(self.row_index))
        self.row_names.append(name)
        self.row_lb.append(lb)
        self.row_ub.append(ub)

    def add_cost(self, col: int, amount: float) -> None:
        self.cost[col] += amount

    def objective_at(self, x: list[float]) -> float:
        return self.offset + math.fsum(c * v for c, v in zip(self.cost, x, strict=True))

    def max_violation(self, x: list[float]) -> float:
        """Largest bound or row violation of x (0.0 when feasible).

        Vectorised: every plan checks its rounded relaxation with it, and the Python
        loop over a 96-slot model's rows cost more than the LP solve.
        """
        xs = np.asarray(x, dtype=float)
        rows = np.repeat(np.arange(self.n_rows), np.diff(self.row_start))
        terms = np.asarray(self.row_value) * xs[np.asarray(self.row_index, dtype=np.intp)]
        act = np.bincount(rows, weights=terms, minlength=self.n_rows)
        return max(
            0.0,
            float(np.max(np.asarray(self.lb) - xs, initial=0.0)),
            float(np.max(xs - np.asarray(self.ub), initial=0.0)),
            float(np.max(np.asarray(self.row_lb) - act, initial=0.0)),
            float(np.max(act - np.asarray(self.row_ub), initial=0.0)),
        )

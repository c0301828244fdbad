"""The Stokes cell problems behind `apparent_permeability` (private).

One load setup (periodic body force, or a pressure drop along one axis) is one
`StokesOperator` and one block-diagonal preconditioner: an aggregation multigrid
W-cycle per velocity component (``multigrid``) and the identity over the viscosity
on the fluid cells for the pressure Schur complement (its spectral equivalent on an
inf-sup stable discretization; Silvester & Wathen 1994), with the mean pressure of
every floating fluid cluster projected out under periodic conditions. MINRES
(``minres``) solves the symmetric indefinite system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sve.solvers._core.clusters import find_clusters, projector
from sve.solvers.permeability.mac import StokesOperator
from sve.solvers.permeability.minres import minres
from sve.solvers.permeability.multigrid import AggregationMultigrid


@dataclass
class Solve:
    """Solutions of one operator's load cases."""

    operator: StokesOperator
    solutions: list[np.ndarray]
    iterations: list[int]
    residuals: list[float]


class BlockPreconditioner:
    """``diag(MG_0, ..., MG_{d-1}, I_fluid)`` with the floating pressure means removed."""

    def __init__(self, operator: StokesOperator, *, project_pressure: bool) -> None:
        self.operator = operator
        self.multigrids = [AggregationMultigrid(c.stencil) for c in operator.components]
        self.fluid = operator.fluid
        self.project = None
        if project_pressure:
            clusters = find_clusters(
                operator.fluid.astype(float), periodic=True, discretization="fv"
            )
            floating = np.ones(clusters.count, dtype=bool)
            self.project = projector(clusters.labels, floating)

    def __call__(self, r: np.ndarray, z: np.ndarray) -> None:
        """``z = M^-1 r``."""
        op = self.operator
        for comp, mg in zip(op.components, self.multigrids, strict=True):
            mg.apply(op.velocity(r, comp.axis), op.velocity(z, comp.axis))
        q = op.pressure(z)
        np.multiply(op.pressure(r), self.fluid, out=q)
        if self.project is not None:
            self.project(q)


def solve_cases(
    operator: StokesOperator,
    loads: list[np.ndarray],
    *,
    periodic: bool,
    tol: float,
    maxiter: int,
) -> Solve:
    """Solve ``K x = b`` for every right-hand side of `loads` with MINRES."""
    preconditioner = BlockPreconditioner(operator, project_pressure=periodic)
    solutions, iterations, residuals = [], [], []
    for b in loads:
        x, count, relative = minres(operator.apply, preconditioner, b, tol=tol, maxiter=maxiter)
        solutions.append(x)
        iterations.append(count)
        residuals.append(relative)
    return Solve(operator, solutions, iterations, residuals)


def body_force(operator: StokesOperator, axis: int) -> np.ndarray:
    """Right-hand side of a unit body force along `axis` on the active faces."""
    b = np.zeros(operator.size)
    comp = operator.components[axis]
    operator.velocity(b, axis)[...] = comp.active
    return b


def pressure_drop(operator: StokesOperator, axis: int, drop: float) -> np.ndarray:
    """Right-hand side of the inlet pressure `drop` (outlet 0) along `axis`: the
    boundary pressure moved from ``B^T p`` on the inlet faces.
    """
    b = np.zeros(operator.size)
    comp = operator.components[axis]
    u = operator.velocity(b, axis)
    index = [slice(None)] * 3
    index[axis] = 0
    u[tuple(index)] = comp.active[tuple(index)] * (drop / operator.h[axis])
    return b

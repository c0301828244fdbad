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
from sve.solvers.permeability.mac import Stencil, StokesOperator
from sve.solvers.permeability.minres import minres
from sve.solvers.permeability.multigrid import AggregationMultigrid


@dataclass
class Solve:
    """Solutions of one operator's load cases."""

    operator: StokesOperator
    solutions: list[np.ndarray]
    iterations: list[int]
    residuals: list[float]


#: Scale of the Darcy-scale part of the pressure block (see `darcy_weight`).
DARCY_SCALE = 0.3


def kozeny_carman(operator: StokesOperator) -> float:
    """Kozeny-Carman estimate ``phi^3 / (5 S^2)`` of the permeability (normalized voxel
    units), ``S`` the wall area (fluid-solid and fluid-domain faces) per volume.
    """
    fluid = operator.fluid
    porosity = fluid.mean()
    area = 0.0
    for comp in operator.components:
        c = comp.axis
        other = np.roll(fluid, -1, axis=c)
        walls = np.count_nonzero(fluid != other)
        area += walls / operator.h[c]
    surface = area / fluid.size
    if surface == 0.0 or porosity == 0.0:
        return 1.0
    return float(porosity**3 / (5.0 * surface**2))


def darcy_weight(operator: StokesOperator) -> float:
    """Weight ``w`` of ``(B D^-1 B^T)^-1`` in the pressure block.

    At scales larger than the pores the Schur complement ``B A^-1 B^T`` is Darcy's
    operator ``-div (K grad)``, whose inverse grows with the square of the wavelength,
    while ``B D^-1 B^T`` is about ``-lap / (2 d)``: ``w = DARCY_SCALE / (2 d K)`` with
    ``K`` the Kozeny-Carman estimate matches the two at large scales, and the identity
    part matches the pore scale (the sum of the two inverses, as in Cahouet & Chabard
    1988 for the generalized Stokes problem).
    """
    return DARCY_SCALE / (2.0 * operator.ndim * kozeny_carman(operator))


def pressure_stencil(operator: StokesOperator) -> Stencil:
    """The cell stencil of ``B D^-1 B^T``, ``D`` the diagonal of the viscous operator:
    two cells sharing an active face of component ``c`` couple with
    ``1 / (h_c^2 D_face)``; an inlet or outlet face adds that to its one cell's
    diagonal.
    """
    shape = operator.fluid.shape
    diag = np.zeros(shape)
    ws = [np.zeros(shape) for _ in range(3)]
    for comp in operator.components:
        c = comp.axis
        d = comp.stencil.diag
        g = np.where(d > 0.0, 1.0 / (operator.h[c] ** 2 * np.where(d > 0.0, d, 1.0)), 0.0)
        if comp.shift == 1:
            n = shape[c]
            inner = np.take(g, range(1, n), axis=c)
            w = np.zeros(shape)
            index = [slice(None)] * 3
            index[c] = slice(0, n - 1)
            w[tuple(index)] = inner
            diag += w + np.roll(w, 1, axis=c)
            first = [slice(None)] * 3
            first[c] = slice(0, 1)
            last = [slice(None)] * 3
            last[c] = slice(n - 1, n)
            diag[tuple(first)] += np.take(g, [0], axis=c)
            diag[tuple(last)] += np.take(g, [n], axis=c)
        else:
            w = g
            diag += w + np.roll(w, 1, axis=c)
        ws[c] = np.ascontiguousarray(w)
    return Stencil(diag, tuple(ws))


class BlockPreconditioner:
    """``diag(MG_0, ..., MG_{d-1}, I_fluid)`` with the floating pressure means removed."""

    def __init__(
        self, operator: StokesOperator, *, project_pressure: bool, darcy: float | None = None
    ) -> None:
        self.operator = operator
        self.multigrids = [AggregationMultigrid(c.stencil) for c in operator.components]
        self.fluid = operator.fluid
        self.darcy = darcy_weight(operator) if darcy is None else darcy
        self.pressure_multigrid = None
        if self.darcy > 0.0:
            self.pressure_multigrid = AggregationMultigrid(pressure_stencil(operator))
            self.work = np.empty(operator.fluid.shape)
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
        if self.pressure_multigrid is not None:
            self.pressure_multigrid.apply(op.pressure(r), self.work)
            q += self.darcy * self.work
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

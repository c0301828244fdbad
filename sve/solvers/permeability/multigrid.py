"""Aggregation multigrid for one velocity component's viscous operator (private).

Each level aggregates the faces ``2 I, 2 I + 1`` along every axis longer than 1
(piecewise-constant interpolation ``P``, restriction ``P^T``). The Galerkin operator
``P^T A P`` of a 7-point stencil is again a 7-point stencil (couplings between two
aggregates add up, couplings inside one leave ``-2 w`` on its diagonal), so every
level is applied by the same kernels, walls and periodic wraps included, and
inactive faces give empty aggregates. The coarsest level (at most ``COARSEST``
unknowns) is solved with the pseudo-inverse of its dense matrix.

Piecewise-constant interpolation makes the coarse operator too stiff for smooth
errors, so the coarse correction is scaled by ``SCALE`` < 2 (Braess 1995); smoothing
is one forward lexicographic Gauss-Seidel sweep before the correction and one
backward after it, so the cycle is symmetric, and the W-cycle keeps it positive
definite with ``SCALE`` > 1 (Notay 2010): what MINRES needs of a preconditioner.

Each coarse level is visited ``gamma`` times (stationary iterations from zero);
``gamma`` = 2 is the W-cycle. With an even ``gamma`` and ``SCALE`` <= 2 every
level's iteration matrix ``I - B A`` has its ``A``-norm at most 1, so ``gamma``
visits give ``B_gamma A = I - (I - B A)^gamma`` with eigenvalues in ``[0, 1]``: the
cycle stays symmetric positive semi-definite at every depth. More visits cost
``gamma / r`` of the finer level's work per level (``r`` the coarsening ratio, 8
in 3-D), so ``gamma`` is capped at ``r / 2`` (never below 2): at most twice the
finest level's work in all. The face-conductance operator of the pressure block
takes ``gamma`` = 4 (``cell_problem``): on a heterogeneous conductance field the
piecewise-constant coarse operators get stiffer than the true coarse-scale
operator on every level above the pore size, and the W-cycle's convergence factor
grew with the number of levels (0.35, 0.43, 0.70, 0.83 at 32^3, 64^3, 96^3,
128^3 on a level cut; 0.35, 0.33, 0.66, 0.51 with 4 visits; ``python
benchmarks/bench_permeability.py --cycles 32,64,96,128``).

Chebyshev variant (``chebyshev=True``, the pressure block's). The face-conductance
operator's cycle keeps degrading at 256^3 with stationary visits (factor 0.877 with
4, 7 levels), and its coarse levels, not the depth as such, are where: the cycle of
level 1 and 2 of the 256^3 hierarchy has ``B A`` down to 0.13 (0.36 and 0.12 at
128^3). Its coarse visits are then ``gamma`` steps of the Chebyshev iteration
preconditioned by the coarse cycle (a polynomial ``p(B A) B``, Axelsson &
Vassilevski's AMLI cycle), for bounds ``[low, high]`` of the spectrum of ``B A``
estimated at setup from the coarsest level up (``LANCZOS`` CG steps from a seeded
start in the range of ``A``; ``high`` is the largest Ritz value times
``HIGH_MARGIN``; both steps in ``_core/chebyshev.py``, shared with the
finite-volume conductivity multigrid). The operator stays fixed and linear, and symmetric positive
semi-definite: ``1 - t p(t)`` is the scaled Chebyshev polynomial, which lies in
``[0, 1]`` on ``[0, low]`` and under 1 in modulus up to ``low + high``, so ``p >= 0``
up to ``low + high`` (Ritz values lie inside the spectrum, and ``high`` is raised
by 10 %), and a positive semi-definite coarse solve keeps the symmetric cycle
positive definite. ``degree`` > 1 also makes the finest level a polynomial of
that degree in its cycle (bounds estimated the same way; two work arrays of the
finest size for degree 2). At 256^3 the factor (CG iterations) of the pressure
cycle is 0.877 (23) stationary, 0.797 (19) with Chebyshev coarse steps; with
degree 2 on the finest level as well (the pressure block's setting) MINRES takes 58
iterations per load case at 256^3 against 76 (49 at 32^3), and 54 at 64^3 and 128^3
as before (``docs/guide/permeability.rst``).

References
----------
.. [1] D. Braess, "Towards algebraic multigrid for elliptic problems of second
   order", Computing 55 (1995) 379-393.
.. [2] Y. Notay, "An aggregation-based algebraic multigrid method", Electron.
   Trans. Numer. Anal. 37 (2010) 123-146.
.. [3] O. Axelsson, P. S. Vassilevski, "Algebraic multilevel preconditioning
   methods II", SIAM J. Numer. Anal. 27 (1990) 1569-1590.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from sve.solvers._core.chebyshev import polynomial, ritz_bounds
from sve.solvers._core.cholesky import matvec
from sve.solvers.permeability.mac import CodedStencil, Stencil, stored
from sve.solvers.permeability.mac_kernels import prolong_add

#: Largest number of unknowns solved directly on the coarsest level.
COARSEST = 400
#: Scaling of the coarse correction (Braess 1995: between 1 and 2).
SCALE = 1.8
#: Coarse-grid visits per level by default (2: W-cycle).
GAMMA = 2
#: Gauss-Seidel sweeps before and after the coarse correction on the coarse levels of a
#: Chebyshev hierarchy (the finest level: one). 2 measured no better at 256^3 (pressure
#: cycle factor 0.800 and 18 CG iterations against 0.797 and 19).
COARSE_SWEEPS = 1
#: Seed of the start vector of the bound estimates.
SEED = 19


class Level:
    """One level of the hierarchy: its stencil, aggregation factors and work arrays
    (on coarse levels the right-hand side, the solution and the second visit's
    residual and correction; no level keeps the residual of its smoothed iterate,
    which is restricted as it is formed, ``residual_restrict`` of the stencils).

    The work arrays come from `workspace` (a dict of flat buffers, keyed by the
    level's depth and the array's name) when one is given: hierarchies that are never
    cycled at the same time (the components of the Stokes preconditioner) share them,
    as views of the first entries; a level larger than the buffer gets a new one
    (build the largest hierarchy first).
    """

    def __init__(
        self,
        stencil: Stencil | CodedStencil,
        coarse: bool,
        depth: int = 0,
        workspace: dict | None = None,
        chebyshev: bool = False,
    ) -> None:
        self.stencil = stencil
        self.shape = stencil.shape
        self.factors = tuple(2 if n > 1 else 1 for n in self.shape)
        workspace = {} if workspace is None else workspace

        size = int(np.prod(self.shape))

        def work(name: str) -> np.ndarray:
            key = (depth, name)
            if key not in workspace or workspace[key].size < size:
                workspace[key] = np.empty(size)  # hierarchies built before keep theirs
            return workspace[key][:size].reshape(self.shape)

        if coarse:
            self.b = work("b")
            self.x = work("x")
            self.r2 = work("r2")
            self.y = work("y")
            if chebyshev:
                self.d = work("d")


class AggregationMultigrid:
    """A symmetric positive semi-definite approximate inverse of a 7-point stencil.

    `workspace` (a dict) lends the levels' work arrays to other hierarchies (`Level`):
    only one of them may be cycled at a time. `single` rounds the coarse stencils to
    float32 (a changed, still symmetric, preconditioner: the pressure block's).
    """

    def __init__(
        self,
        stencil: Stencil | CodedStencil,
        *,
        gamma: int = GAMMA,
        workspace: dict | None = None,
        chebyshev: bool = False,
        degree: int = 1,
        single: bool = False,
    ) -> None:
        if not isinstance(single, bool):
            raise TypeError(f"single must be a bool, got {single!r}")
        if not isinstance(chebyshev, bool):
            raise TypeError(f"chebyshev must be a bool, got {chebyshev!r}")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, np.integer)):
            raise TypeError(f"gamma must be an integer, got {gamma!r}")
        if chebyshev and gamma < 2:
            raise ValueError(f"gamma must be an integer >= 2, got {gamma!r}")
        if not chebyshev and (gamma < 2 or gamma % 2):
            raise ValueError(f"gamma must be an even integer >= 2, got {gamma!r}")
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
            raise ValueError(f"degree must be an integer >= 1, got {degree!r}")
        if degree > 1 and not chebyshev:
            raise ValueError("degree > 1 needs chebyshev=True")
        self.chebyshev = chebyshev
        self.degree = int(degree)
        self.sweeps = COARSE_SWEEPS if chebyshev else 1
        self.levels = [Level(stencil, coarse=False, workspace=workspace)]
        while np.prod(self.levels[-1].shape) > COARSEST and max(self.levels[-1].shape) > 1:
            level = self.levels[-1]
            coarse_shape = tuple(
                (n + f - 1) // f for n, f in zip(level.shape, level.factors, strict=True)
            )
            s = level.stencil
            coarse = s.coarsen(level.factors, coarse_shape)
            if single:
                coarse = Stencil(
                    coarse.diag.astype(np.float32), tuple(w.astype(np.float32) for w in coarse.w)
                )
            elif not (isinstance(s, Stencil) and s.diag.dtype == np.float64):
                coarse = stored(coarse)  # few distinct or exact fine rows: likely so here
            self.levels.append(
                Level(coarse, True, len(self.levels), workspace=workspace, chebyshev=chebyshev)
            )
        # visits of level l + 1 from level l: capped at half the coarsening ratio
        self.visits = [
            min(gamma, max(2, int(np.prod(level.factors)) // 2)) for level in self.levels
        ]
        self._coarsest_inverse()
        # Chebyshev bounds of B A on the levels visited by a polynomial (1 to the one
        # above the coarsest), from the coarsest up: each level's cycle uses the next's
        self.bounds: list[tuple[float, float] | None] = [None] * len(self.levels)
        if chebyshev:
            for index in range(len(self.levels) - 2, 0, -1):
                self.bounds[index] = self._estimate_bounds(index)
        if self.degree > 1:
            # the finest level's polynomial: two or three work arrays of its size, its own
            top = self.levels[0]
            top.r2, top.y = np.empty(top.shape), np.empty(top.shape)
            if self.degree > 2:
                top.d = np.empty(top.shape)
            self.bounds[0] = self._estimate_bounds(0)

    def _coarsest_inverse(self) -> None:
        level = self.levels[-1]
        n = int(np.prod(level.shape))
        matrix = np.empty((n, n))
        unit = np.zeros(level.shape)
        out = np.empty(level.shape)
        s = level.stencil
        for i in range(n):
            unit.reshape(-1)[i] = 1.0
            s.apply(unit, out)
            matrix[:, i] = out.reshape(-1)
            unit.reshape(-1)[i] = 0.0
        matrix = 0.5 * (matrix + matrix.T)
        # one BLAS thread: LAPACK's eigh and the product round differently with other
        # thread counts, and the preconditioner, hence the tensor, would follow
        with threadpool_limits(limits=1, user_api="blas"):
            values, vectors = np.linalg.eigh(matrix)
            keep = values > 1e-12 * max(values.max(), 1e-300)
            self.coarse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T

    def apply(self, b: np.ndarray, x: np.ndarray) -> None:
        """``x = B b``: one cycle from zero, or the Chebyshev polynomial of `degree`
        cycles.
        """
        if self.degree == 1:
            self._cycle(0, b, x)
        else:
            self._chebyshev(0, self.degree, b, x)

    def _cycle(self, index: int, b: np.ndarray, x: np.ndarray) -> None:
        if index == len(self.levels) - 1:
            matvec(self.coarse, b.reshape(-1), x.reshape(-1))
            return
        level = self.levels[index]
        s = level.stencil
        x[...] = 0.0
        sweeps = self.sweeps if index else 1
        for _ in range(sweeps):
            s.smooth(b, x, True)
        coarse_b = self.levels[index + 1].b
        coarse_x = self.levels[index + 1].x
        # the residual restricted as it is formed: no residual array of this level
        s.residual_restrict(x, b, coarse_b, level.factors)
        if not self.chebyshev or index + 1 == len(self.levels) - 1:
            self._cycle(index + 1, coarse_b, coarse_x)
        if index + 1 < len(self.levels) - 1:
            coarse = self.levels[index + 1]
            c = coarse.stencil
            if self.chebyshev:
                self._chebyshev(index + 1, self.visits[index])
            else:
                # further coarse iterations: B_2 = 2 B - B A B on the coarse level, and so on
                for _ in range(self.visits[index] - 1):
                    c.residual(coarse_x, coarse_b, coarse.r2)
                    self._cycle(index + 1, coarse.r2, coarse.y)
                    coarse_x += coarse.y
        prolong_add(coarse_x, x, *level.factors, SCALE)
        for _ in range(sweeps):
            s.smooth(b, x, False)

    def _chebyshev(
        self, index: int, degree: int, b: np.ndarray | None = None, x: np.ndarray | None = None
    ) -> None:
        """``x = p(B A) B b`` on level `index` (by default its own ``b`` and ``x``):
        `degree` steps of the Chebyshev iteration preconditioned by the level's cycle
        ``B``, from zero, for the bounds of ``B A`` estimated at setup
        (`_estimate_bounds`).
        """
        level = self.levels[index]
        b = level.b if b is None else b
        x = level.x if x is None else x
        stencil = level.stencil

        def cycle(v: np.ndarray, out: np.ndarray) -> None:
            self._cycle(index, v, out)

        def residual(v: np.ndarray, out: np.ndarray) -> None:
            stencil.residual(v, b, out)

        d = getattr(level, "d", None)
        polynomial(self.bounds[index], degree, cycle, residual, b, x, level.y, level.r2, d)

    def _estimate_bounds(self, index: int) -> tuple[float, float]:
        """Chebyshev bounds ``(low, high)`` of the spectrum of ``B A`` on level `index`:
        ``_core.chebyshev.ritz_bounds`` of the level's cycle from a fixed seeded start
        ``A z``, ``z`` standard normal (in the range of ``A``).
        """
        level = self.levels[index]
        rng = np.random.default_rng(SEED)
        start = rng.standard_normal(level.shape)
        r = np.empty(level.shape)
        level.stencil.apply(start, r)
        del start

        def cycle(v: np.ndarray, out: np.ndarray) -> None:
            self._cycle(index, v, out)

        return ritz_bounds(level.stencil.apply, cycle, r)

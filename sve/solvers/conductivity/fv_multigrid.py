"""Aggregation multigrid preconditioner of the finite-volume operator (private).

``apparent_conductivity(..., discretization="fv", preconditioner="multigrid")``
under kinematic and mixed conditions (no periodic axis).

Hierarchy
---------
Level 0 is the cell-centred operator of ``conductivity/fv.py``: two-point fluxes with
face conductances ``g``, the Dirichlet faces joining the end cells to the
boundary value, zero conductance on the no-flux faces. Each coarser level
aggregates the cells ``2 I, 2 I + 1`` of every coarsened axis (one cell where
an axis is odd or of length 1), and ``P`` is the piecewise-constant
interpolation from the aggregates, ``R = P^T`` the sum over them. The
Galerkin operator ``R A P`` is then again a two-point operator on the
coarse cells: the flux between two aggregates is the sum of the fine fluxes
through the faces they share, so a coarse face has the sum of the
conductances of the fine faces it covers, Dirichlet faces included, and the
faces inside an aggregate drop out (``coarse_faces``). The boundary
conditions need no special treatment, void cells give zero coarse
conductances, and every level is applied by the same 7-point kernels. The
coarsest level (at most ``COARSEST`` cells) is solved with the symmetric
pseudo-inverse of its dense matrix (aggregates of voids are empty rows).

Semi-coarsening
---------------
An axis is coarsened when its faces couple strongly: when the mean
conductance of its inner faces is at least ``STRONG`` times the largest
such mean over the axes (`coarsened_axes`). On cubic voxels every axis
qualifies (full coarsening, ``2 x 2 x 2`` aggregates). On box voxels the
conductance of a face normal to ``a`` scales as ``prod(h) / h_a**2``: with
voxels ``(1, 1, 3)`` the faces normal to the long axis couple 9 times more
weakly, and pointwise Gauss-Seidel leaves the errors that are smooth along
the strongly coupled axes but oscillate along the weak one; full coarsening
cannot represent them, and the iteration count grew 2.3-2.8 times at 32**3
(``benchmarks/bench_spacing.py``). Aggregating along the strong axes only
keeps those errors on the coarse level (Trottenberg, Oosterlee & Schüller
2001, sec. 5.1) until the coarse conductances, which grow with the
aggregates' cross-sections, balance the axes; full coarsening resumes there.

Cycle
-----
Piecewise-constant interpolation makes ``R A P`` about twice too stiff for
smooth errors (the jumps of ``P e_c`` between aggregates carry energy), so
the coarse correction is multiplied by ``SCALE`` < 2 (Braess 1995; Notay
2010 for its analysis). Smoothing is one lexicographic Gauss-Seidel sweep
forward before the correction and one backward after it: the backward
sweep is the adjoint of the forward one, so the cycle ``B`` is symmetric
(Trottenberg, Oosterlee & Schüller 2001, sec. 2.4). Cells with a zero
diagonal (voids) are set to zero by both sweeps, so ``B`` is zero on them.

Definiteness. On one level ``I - B A = S^* (I - SCALE P B_c P^T A) S``,
``S`` the forward sweep (an A-norm contraction on the conducting cells) and
``S^*`` its A-adjoint. The middle factor is at most ``I`` in the A-norm's
order as soon as the coarse solve ``B_c`` is positive semi-definite, so
``I - B A`` is at most ``S^* S < I`` there: ``B`` is positive semi-definite,
and definite on the conducting cells, whatever the upper end of the
spectrum of ``B_c A_c``. The stationary W-cycle (``chebyshev=False``, an
even ``GAMMA``) passes up ``B_2 = 2 B - B A B``, whose ``B_2 A`` has the
eigenvalues ``1 - (1 - lambda)^2`` in ``[0, 1]`` for ``lambda`` in ``[0,
2]``; a V-cycle with ``SCALE > 1`` or an odd count would not keep this.

Chebyshev coarse steps (the default, ``CHEBYSHEV``). With stationary visits
the iterations grew with the size (the level cut of issue 18's 500^3 case,
30 % conducting, correlation length 4, mixed, ``tol=1e-6``: at most 23,
26, 29, 36 and 39 iterations at 64^3, 128^3, 192^3, 256^3 and 500^3), as
the permeability's pressure cycle did: the piecewise-constant coarse
operators are too stiff, ``B A`` of the coarse cycles reaches down to
0.11-0.14, and a fixed pair of visits corrects them less well on every
level more. Each coarse level's correction is now ``p(B A) B`` of degree
``GAMMA`` = 3 in its cycle ``B``, the Chebyshev polynomial of the bounds of
``B A`` estimated at set-up from the coarsest level up (the AMLI cycle of
Axelsson & Vassilevski; ``_core/chebyshev.py``, shared with
``permeability/multigrid.py``: ``LANCZOS`` = 8 seeded CG steps, the
extreme Ritz values, ``high`` raised by 10 %). ``p >= 0`` on the spectrum, so the
coarse solve is positive semi-definite, the cycle a fixed symmetric
positive semi-definite operator, as conjugate gradients need. The residual
is updated in place (``r -= A d``, `polynomial_updating`), so a level holds
four float32 arrays (the right-hand side, the result, the cycle's output,
the direction) where the W-cycle held three, and the set-up uses them for
its Lanczos vectors. Iterations on the same medium: at most 14, 20, 18 and
22 at 64^3 to 256^3 (``python benchmarks/bench_conductivity.py
--fv-scaling 64,128,192,256``); degrees 2 and 4 took 22-23 and 17-20 at
128^3 against 19-21 (12 Lanczos steps), for about the same and 1.3 times
the CPU time.

References
----------
.. [1] D. Braess, "Towards algebraic multigrid for elliptic problems of
   second order", Computing 55 (1995) 379-393.
.. [2] Y. Notay, "An aggregation-based algebraic multigrid method",
   Electron. Trans. Numer. Anal. 37 (2010) 123-146.
.. [3] U. Trottenberg, C. W. Oosterlee, A. Schüller, "Multigrid", Academic
   Press (2001).
.. [4] O. Axelsson, P. S. Vassilevski, "Algebraic multilevel preconditioning
   methods II", SIAM J. Numer. Anal. 27 (1990) 1569-1590.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sve.solvers._core.chebyshev import polynomial_updating, ritz_bounds
from sve.solvers._core.pcg import Operator
from sve.solvers.conductivity.fv_multigrid_kernels import (
    coarse_faces,
    coarse_faces_labels,
    diagonal,
    gauss_seidel,
    gauss_seidel_labels,
    label_face_means,
    prolong_add,
    residual,
    restrict_residual,
    restrict_residual_labels,
)
from sve.solvers.conductivity.q1_multigrid import pseudo_inverse

# Largest number of cells solved directly (a dense pseudo-inverse, O(n^3) once, O(n^2) a visit).
COARSEST = 64
# Scale of the coarse correction, < 2 for a positive definite cycle (see the module notes):
# at 128^3 (level cut, voids) 1.6, 1.8 and 1.9 took 13, 12 and 12 iterations.
SCALE = 1.8
# Coarse cycles per coarse correction: the degree of the Chebyshev polynomial of the coarse
# cycle (CHEBYSHEV) at every level above the coarsest. On the 500^3 case's medium at 128^3
# (mixed, tol 1e-6) degrees 2, 3, 4 took 22-23, 19-21, 17-20 CG iterations and 4.5, 4.4, 5.7 s
# CPU for the three directions (12 Lanczos steps); the stationary W-cycle (2 visits) 25-26.
GAMMA = 3
# An axis is coarsened where the mean conductance of its inner faces is at least this fraction
# of the largest over the axes (semi-coarsening; every axis on cubic voxels).
STRONG = 0.5
# Precision of the cycle: it need only be a good SPD approximation, and single precision moves
# half the bytes (Gauss-Seidel and the residual are memory-bound at 128^3).
DTYPE = np.float32
# The coarse visits are a Chebyshev polynomial of the coarse cycle (see the module notes).
CHEBYSHEV = True
# Seed of the start vectors of the Chebyshev bound estimates.
SEED = 23
# Lanczos (CG) steps per bound estimate: the set-up's cost is about LANCZOS cycles of the
# first coarse level (an eighth of the image). On the 500^3 medium at 128^3 and 192^3 (mixed,
# tol 1e-6) 6, 8 and 12 took 18-20 and 19-20, 18-20 and 18, 19-21 and 18-19 iterations.
LANCZOS = 8
Faces = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Level:
    """One level: face conductances, the inverse of the diagonal (0 on voids), and the
    cells per aggregate of every axis towards the next level (`coarsened_axes`).
    """

    faces: Faces
    inverse_diagonal: np.ndarray
    coarsest: np.ndarray | None = None
    steps: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.inverse_diagonal.shape

    @property
    def diagonal(self) -> np.ndarray:
        """The diagonal of the operator (a new array: the kernels sum it where they use it)."""
        d = np.empty(self.shape, dtype=DTYPE)
        diagonal(*self.faces, d)
        return d


@dataclass
class _LabelLevel:
    """The finest level of a grid that reads its labels (``FVGrid.labels``): its faces
    and diagonal are computed in every sweep, rounded to ``DTYPE`` as `_Level` stores them.
    """

    grid: object
    steps: np.ndarray
    coarsest = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.grid.labels.shape

    def sweep(self, b: np.ndarray, x: np.ndarray, forward: bool) -> None:
        grid = self.grid
        gauss_seidel_labels(
            grid.labels, grid.inner, grid.bound, grid._periodic, b, x, forward, _ROUNDING
        )

    def restrict(self, x: np.ndarray, coarse: np.ndarray) -> None:
        grid = self.grid
        restrict_residual_labels(
            grid.labels, grid.inner, grid.bound, grid._periodic, x, self.steps, coarse, _ROUNDING
        )


_ROUNDING = np.zeros(1, dtype=DTYPE)  # the dtype the label kernels round the faces to


def _level(faces: Faces) -> _Level:
    shape = tuple(faces[axis].shape[axis] - 1 for axis in range(3))
    d = np.empty(shape, dtype=DTYPE)
    diagonal(*faces, d)
    inverse = np.zeros(shape, dtype=DTYPE)
    np.divide(1.0, d, out=inverse, where=d > 0.0)
    return _Level(faces, inverse)


def coarsened_axes(faces: Faces) -> np.ndarray:
    """Cells per aggregate along each axis, int64 (3,): 2 on the axes whose inner faces
    couple strongly (mean conductance at least ``STRONG`` times the largest mean), 1 on the
    others and on axes of one cell.
    """
    cells = [faces[axis].shape[axis] - 1 for axis in range(3)]
    means = np.zeros(3)
    for axis in range(3):
        if cells[axis] > 1:
            inner = [slice(None)] * 3
            inner[axis] = slice(1, -1)
            means[axis] = float(np.mean(faces[axis][tuple(inner)], dtype=np.float64))
    return _strong(cells, means)


def _strong(cells: list[int], means: np.ndarray) -> np.ndarray:
    """`coarsened_axes` from the cells per axis and the mean inner-face conductances."""
    longer = np.array([n > 1 for n in cells])
    strong = longer & (means >= STRONG * means.max())
    if not strong.any():  # no inner face conducts: aggregate every axis longer than a cell
        strong = longer
    return np.where(strong, 2, 1).astype(np.int64)


def coarsen(faces: Faces, steps: np.ndarray | None = None) -> Faces:
    """The face conductances of ``R A P``, aggregates of `steps` cells per axis (2 on every
    axis by default; see the notes).
    """
    steps = np.full(3, 2, dtype=np.int64) if steps is None else steps
    cells = tuple(faces[axis].shape[axis] - 1 for axis in range(3))
    shape = tuple((n + s - 1) // s for n, s in zip(cells, steps, strict=True))
    coarse = []
    for axis in range(3):
        out = np.empty(tuple(n + (a == axis) for a, n in enumerate(shape)), dtype=DTYPE)
        coarse_faces(faces[axis], axis, steps, out)
        coarse.append(out)
    return tuple(coarse)


def dense(level: _Level) -> np.ndarray:
    """The matrix of the operator of `level`, dense, column by column."""
    size = level.inverse_diagonal.size
    matrix = np.empty((size, size))
    unit = np.zeros(level.shape, dtype=DTYPE)
    zero = np.zeros(level.shape, dtype=DTYPE)
    column = np.empty(level.shape, dtype=DTYPE)
    for index in range(size):
        unit.reshape(-1)[index] = 1.0
        residual(*level.faces, zero, unit, column)  # -A e_index
        matrix[:, index] = -column.reshape(-1)
        unit.reshape(-1)[index] = 0.0
    return matrix


def hierarchy(faces: Faces) -> list[_Level]:
    """The levels of the operator of the face conductances `faces` (``FVGrid.conductances``:
    3-D, no periodic axis), finest first.
    """
    return _coarser([_level(tuple(g.astype(DTYPE) for g in faces))])


def hierarchy_of_labels(grid) -> list:
    """The levels of an ``FVGrid`` that reads its labels (no periodic axis), finest first:
    the finest a `_LabelLevel` (no array per cell), the next summed from its faces (rounded
    to ``DTYPE``, as `hierarchy` rounds them) without a fine-size array, the coarser
    ones as in `hierarchy`.
    """
    arguments = (grid.labels, grid.inner, grid.bound, grid._periodic)
    means = np.zeros(3)
    label_face_means(*arguments, _ROUNDING, means)
    steps = _strong(list(grid.labels.shape), means)
    shape = tuple((n + s - 1) // s for n, s in zip(grid.labels.shape, steps, strict=True))
    coarse = []
    for axis in range(3):
        out = np.empty(tuple(n + (a == axis) for a, n in enumerate(shape)), dtype=DTYPE)
        coarse_faces_labels(*arguments, axis, steps, out)
        coarse.append(out)
    return _coarser([_LabelLevel(grid, steps), _level(tuple(coarse))])


def _coarser(levels: list) -> list:
    """`levels` with the coarser levels appended down to at most ``COARSEST`` cells."""
    while levels[-1].inverse_diagonal.size > COARSEST:
        levels[-1].steps = coarsened_axes(levels[-1].faces)
        levels.append(_level(coarsen(levels[-1].faces, levels[-1].steps)))
    levels[-1].coarsest = pseudo_inverse(dense(levels[-1])).astype(DTYPE)
    return levels


class Cycle:
    """``cycle(r, out)``: ``out = B r``, one symmetric cycle from zero on `levels`.

    Parameters
    ----------
    levels : list of _Level
        From `hierarchy`, finest first.
    scale : float
        Factor of the coarse correction, in (0, 2).
    gamma : int
        Coarse cycles per coarse correction: the degree of the Chebyshev
        polynomial of the coarse cycle (>= 2), or without `chebyshev` the
        stationary visits, the later ones on the residual of the earlier
        (``B_2 = 2 B - B A B`` for two; even, for a definite cycle).
    chebyshev : bool
        The coarse corrections as Chebyshev polynomials (see the module notes);
        their bounds are estimated here, from the coarsest level up.
    """

    def __init__(
        self,
        levels: list[_Level],
        scale: float = SCALE,
        gamma: int = GAMMA,
        chebyshev: bool = CHEBYSHEV,
    ) -> None:
        if chebyshev and gamma < 2:
            raise ValueError(f"gamma must be an integer >= 2, got {gamma!r}")
        if not chebyshev and (gamma < 2 or gamma % 2):  # an odd count is not definite
            raise ValueError(f"gamma must be an even integer >= 2, got {gamma!r}")
        self.levels = levels
        self.scale = scale
        self.gamma = gamma
        # Per level but the first (whose b and x are the caller's): b, x, and the x of the
        # later coarse cycles (their b is the residual, made over b); the direction of a
        # Chebyshev polynomial of degree above 2 (that of degree 2 is x itself).
        count = 4 if chebyshev and gamma > 2 else 3
        self.work = [()] + [
            tuple(np.empty(level.shape, dtype=DTYPE) for _ in range(count)) for level in levels[1:]
        ]
        # Chebyshev bounds of B A on the levels between the finest and the coarsest, from
        # the coarsest up: each level's cycle uses the polynomial of the next
        self.bounds: list[tuple[float, float] | None] = [None] * len(levels)
        if chebyshev:
            for index in range(len(levels) - 2, 0, -1):
                self.bounds[index] = self._estimate_bounds(index)

    def _estimate_bounds(self, index: int) -> tuple[float, float]:
        """``ritz_bounds`` of the cycle of level `index`, from ``A z``, ``z`` seeded
        standard normal.
        """
        level = self.levels[index]
        # the level's own work arrays are free here: its cycle uses those of the next
        work = self.work[index]
        if len(work) < 4:
            work = (*work, np.empty(level.shape, dtype=DTYPE))
        r, start = work[0], work[1]
        np.random.default_rng(SEED).standard_normal(dtype=DTYPE, out=start)

        def apply(v: np.ndarray, out: np.ndarray) -> None:
            out[...] = 0.0
            residual(*level.faces, out, v, out)  # -A v (in place: the kernel allows it)
            np.negative(out, out=out)

        def cycle(v: np.ndarray, out: np.ndarray) -> None:
            self._cycle(index, v, out)

        apply(start, r)  # A z: in the range of A
        return ritz_bounds(apply, cycle, r, steps=LANCZOS, work=work[1:4])

    def _correction(self, index: int, b: np.ndarray, x: np.ndarray) -> None:
        """``x = B_gamma b`` on level `index` (`b` overwritten)."""
        level = self.levels[index]
        if self.bounds[index] is not None:
            work = self.work[index]

            def cycle(v: np.ndarray, out: np.ndarray) -> None:
                self._cycle(index, v, out)

            def update(d: np.ndarray, r: np.ndarray) -> None:
                residual(*level.faces, r, d, r)  # r -= A d

            d = work[3] if self.gamma > 2 else None
            polynomial_updating(self.bounds[index], self.gamma, cycle, update, b, x, work[2], d)
            return
        self._cycle(index, b, x)
        if level.coarsest is not None:
            return  # exact: a second pass would add nothing
        later_x = self.work[index][2]
        for later in range(1, self.gamma):  # b is dead once used: the residual goes over it
            residual(*level.faces, b, x if later == 1 else later_x, b)
            self._cycle(index, b, later_x)
            x += later_x

    def _cycle(self, index: int, b: np.ndarray, x: np.ndarray) -> None:
        level = self.levels[index]
        if level.coarsest is not None:
            np.dot(level.coarsest, b.reshape(-1), out=x.reshape(-1))
            return
        coarse_b, coarse_x = self.work[index + 1][0], self.work[index + 1][1]
        if isinstance(level, _LabelLevel):
            level.sweep(b, x, True)
            level.restrict(x, coarse_b)
        else:
            gauss_seidel(*level.faces, level.inverse_diagonal, b, x, True)  # from x = 0
            restrict_residual(*level.faces, x, level.steps, coarse_b)
        self._correction(index + 1, coarse_b, coarse_x)
        prolong_add(coarse_x, self.scale, level.steps, x)
        if isinstance(level, _LabelLevel):
            level.sweep(b, x, False)
        else:
            gauss_seidel(*level.faces, level.inverse_diagonal, b, x, False)

    def __call__(self, r: np.ndarray, out: np.ndarray) -> None:
        """Write one cycle's approximation of ``A^-1 r`` into `out` (the preconditioner)."""
        shape = self.levels[0].shape
        self._cycle(0, r.reshape(shape), out.reshape(shape))  # float64 fields, float32 levels


def fv_multigrid(faces) -> Operator:
    """Return ``apply(r, out)``, the multigrid preconditioner of a finite-volume operator.

    Parameters
    ----------
    faces : tuple of 3 ndarrays, float64, or FVGrid
        ``FVGrid.conductances`` of a grid without periodic axes (shapes
        (N0 + 1, N1, N2), (N0, N1 + 1, N2), (N0, N1, N2 + 1)); or such a grid,
        whose finest level then reads its labels where it has them.

    Returns
    -------
    callable
        ``apply(r, out)`` with `r`, `out` float64 C-contiguous cell fields;
        ``out = B r``, ``B`` symmetric positive semi-definite, zero on the
        cells of zero diagonal and definite on the others.
    """
    if not isinstance(faces, tuple):
        grid = faces
        if grid.labels is not None and grid.labels.size > COARSEST:
            return Cycle(hierarchy_of_labels(grid))
        faces = grid.conductances
    return Cycle(hierarchy(faces))

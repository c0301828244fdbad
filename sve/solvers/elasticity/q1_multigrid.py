"""Geometric multigrid preconditioner of the periodic 3-D Q1 elasticity operator (private).

The measured alternative to the reference-medium FFT preconditioner
(``fft_preconditioner.py``): ``apparent_stiffness(..., preconditioner="multigrid")``,
taken by ``"auto"`` where `supported` (``benchmarks/bench_elasticity.py`` compares them).
The design is that of the conductivity multigrid (``conductivity/q1_multigrid.py``),
with 3 x 3 nodal blocks in place of numbers.

Hierarchy
---------
Level 0 is the image: the matrix-free Q1 operator of ``q1_kernels.sparse_force_3d``.
Each coarser level halves every axis (coarse node ``I`` is fine node ``2 I``); its
operator is the Galerkin product ``A_c = P^T A P`` with ``P`` the trilinear
interpolation of every displacement component (Trottenberg, Oosterlee & Schüller
2001, sec. 2.3). Q1 spaces are nested and ``P`` interpolates inside each coarse voxel
from its own corners, so ``P^T A P`` is the assembly of the element products ``sum_c
P_c^T K_e(c) P_c`` over the 8 children ``c`` of every coarse voxel. On level 1 the
children are the image's voxels, whose element matrices are those of their material:
the products ``P_c^T Ke P_c`` are formed once per child position and material
(`MAX_MATERIALS` at most) and summed per coarse voxel, two rows of coarse voxels at a
time (the 24 x 24 matrices of the whole level 1 would be 24 fields of the image).
Deeper levels multiply the element matrices of the level above by the 27 nonzeros of
each ``P_c``. Galerkin coarsening keeps the coarse operators faithful to the jumps of
the moduli (Alcouffe, Brandt, Dendy & Painter 1981), which rediscretizing a coarsened
image would not. The coarse operators are block stencils, the upper half of their
rows stored (14 blocks of 27), in float32 but on the coarsest level.

Smoother and coarsest level
---------------------------
Block Jacobi: ``D`` holds the 3 x 3 diagonal block of every node (inverted per node,
float32 on the image), so that the smoother does not depend on the coupling of the
components at a node. A Chebyshev polynomial in ``D^-1 A`` on ``[lambda_max / RATIO,
lambda_max]`` (Adams, Brezina, Hu & Tuminaro 2003) of degree ``DEGREE`` on the coarse
levels and ``FINE_DEGREE`` on the image (degree 1: damped block Jacobi), the same
before and after the coarse correction, so the cycle is symmetric. ``lambda_max`` is a
bound, never an estimate, so that the smoother contracts in the energy norm and the
cycle is positive semi-definite: on the image the largest generalized eigenvalue of
``(Ke, blockdiag(Ke))`` over the materials (``x.Ax = sum_e x_e.Ke x_e <= lambda
sum_e x_e.De x_e = lambda x.Dx``), on the coarse levels the Gershgorin bound of ``D^-1/2
A D^-1/2``. The coarsest level (at most ``COARSEST`` voxels; ``LARGEST_COARSEST`` nodes
when an odd axis stops the coarsening) is solved by a Cholesky factorization of its
matrix plus ``c T T^T`` on the three rigid translations ``T`` (its null space, ``c`` the
mean diagonal): that differs from the pseudo-inverse by translations only, which
interpolate to translations of the image, removed by the caller's projection.

Null space and scope
--------------------
The periodic operator without voids has the three translations for null space: the
preconditioner returns ``Pi B Pi`` with ``Pi`` the removal of the mean of every
component. Voids (more null vectors: floating parts, hinges), bounded grids, 2-D
images, more than `MAX_MATERIALS` materials or grids that do not coarsen keep the
transform preconditioner (`supported`).

References
----------
.. [1] U. Trottenberg, C. W. Oosterlee, A. Schüller, "Multigrid", Academic
   Press (2001).
.. [2] R. E. Alcouffe, A. Brandt, J. E. Dendy, J. W. Painter, "The
   multi-grid method for the diffusion equation with strongly discontinuous
   coefficients", SIAM J. Sci. Stat. Comput. 2 (1981) 430-454.
.. [3] M. Adams, M. Brezina, J. Hu, R. Tuminaro, "Parallel multigrid
   smoothing: polynomial versus Gauss-Seidel", J. Comput. Phys. 188 (2003)
   593-610.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from sve.solvers._core.cholesky import cholesky, cholesky_solve, matvec
from sve.solvers._core.pcg import Operator
from sve.solvers._core.q1_geometry import corner_offsets
from sve.solvers._core.threads import threaded
from sve.solvers.elasticity import q1_multigrid_kernels as kernels

# Largest coarsest level (voxels) reached by halving; the coarsening stops there.
COARSEST = 64
# Largest coarsest level (nodes) accepted when an odd axis stops the coarsening early.
LARGEST_COARSEST = 216
# Most materials whose level-1 products P_c^T Ke P_c are tabulated (8 x 4.6 kB each).
MAX_MATERIALS = 64
# The smoother damps the eigenvalues of D^-1 A in [lambda_max / RATIO, lambda_max].
RATIO = 8.0
DEGREE = 2
FINE_DEGREE = 1
# Coarse cycles per coarse correction (1: V-cycle, 2: W-cycle).
GAMMA = 1
# Relative slack of the smoother bounds: the inverse blocks are stored in float32.
_SLACK = 1e-5


def level_shapes(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Voxels per axis of every level, finest first: each level halves every axis while it
    has more than ``COARSEST`` voxels and every axis is even and at least 4 long.
    """
    shapes = [tuple(int(n) for n in shape)]
    while int(np.prod(shapes[-1])) > COARSEST:
        if not all(n % 2 == 0 and n >= 4 for n in shapes[-1]):
            break
        shapes.append(tuple(n // 2 for n in shapes[-1]))
    return shapes


def supported(shape: tuple[int, ...], materials: int, voids: bool, bc: str) -> bool:
    """Whether `multigrid` serves an image of `shape` voxels with `materials` distinct
    element stiffnesses under the condition `bc`.
    """
    if len(shape) != 3 or bc != "periodic" or voids or materials > MAX_MATERIALS:
        return False
    shapes = level_shapes(shape)
    return len(shapes) > 1 and int(np.prod(shapes[-1])) <= LARGEST_COARSEST


@functools.lru_cache(maxsize=1)
def _child_interpolation() -> np.ndarray:
    """``P[c, a, b]``: weight of coarse corner ``b`` at corner ``a`` of child voxel ``c``
    (children and corners in C order over 2 x 2 x 2), read-only.
    """
    weights = np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])
    offsets = corner_offsets(3)
    out = np.ones((8, 8, 8))
    for c, child in enumerate(offsets):
        for a, corner in enumerate(offsets):
            for b, coarse in enumerate(offsets):
                taps = [weights[coarse[i], child[i] + corner[i]] for i in range(3)]
                out[c, a, b] = np.prod(taps)
    out.flags.writeable = False
    return out


def _child_taps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nonzeros of every child's interpolation (``galerkin_elements``): fine corner,
    coarse corner and weight, (8, 27) each (a child's 27 nonzeros: 1 + 6 + 12 + 8).
    """
    p = _child_interpolation()
    fine, coarse, weight = (np.zeros((8, 27), dtype) for dtype in (np.int64, np.int64, float))
    for c in range(8):
        a, b = np.nonzero(p[c])
        fine[c, : a.size], coarse[c, : a.size], weight[c, : a.size] = a, b, p[c][a, b]
    return fine, coarse, weight


@dataclass
class _Level:
    """One level: nodes per axis, operator, inverse diagonal blocks, smoother bound and,
    on the coarsest level, its direct solve.
    """

    shape: tuple[int, ...]
    apply: Operator
    inverse: np.ndarray
    upper: float
    coarsest: Operator | None = None


def _parallel(shape: tuple[int, ...]) -> int:
    return threaded(3 * int(np.prod(shape)))


def _stencil_apply(coefficients: np.ndarray) -> Operator:
    shape = coefficients.shape[:3]

    def apply(x: np.ndarray, out: np.ndarray) -> None:  # serial in a concurrent load case
        kernels.block_stencil[_parallel(shape)](coefficients, x, out)

    return apply


def _stencil_bound(coefficients: np.ndarray) -> float:
    """Gershgorin bound of ``D^-1/2 A D^-1/2`` of a block stencil."""
    diagonal = coefficients[..., 0, :, :].astype(np.float64)
    values, vectors = np.linalg.eigh(0.5 * (diagonal + np.swapaxes(diagonal, -1, -2)))
    scale = np.einsum("...ij,...j,...kj->...ik", vectors, 1.0 / np.sqrt(values), vectors)
    return float(kernels.block_gershgorin(coefficients, np.ascontiguousarray(scale)))


def _dense(coefficients: np.ndarray) -> np.ndarray:
    """The matrix of a block stencil, dense (3 M, 3 M), dof ``3 n + component``."""
    shape = coefficients.shape[:3]
    size = int(np.prod(shape))
    nodes = np.indices(shape).reshape(3, -1)
    matrix = np.zeros((size, 3, size, 3))
    rows = np.arange(size)
    offsets = [tuple(o - 1 for o in offset) for offset in np.ndindex(3, 3, 3)][13:]
    for index, offset in enumerate(offsets):
        neighbours = (nodes + np.array(offset)[:, None]) % np.array(shape)[:, None]
        cols = np.ravel_multi_index(tuple(neighbours), shape)
        blocks = coefficients[..., index, :, :].reshape(size, 3, 3).astype(np.float64)
        for p in range(3):
            for q in range(3):
                np.add.at(matrix, (rows, p, cols, q), blocks[:, p, q])
                if index > 0:
                    np.add.at(matrix, (cols, q, rows, p), blocks[:, p, q])
    return matrix.reshape(3 * size, 3 * size)


def _coarsest_solve(coefficients: np.ndarray) -> Operator:
    """Cholesky solve of the coarsest matrix plus ``c T T^T`` on the translations."""
    matrix = _dense(coefficients)
    size = matrix.shape[0] // 3
    shift = float(np.mean(np.diag(matrix))) / size
    for p in range(3):
        matrix[p::3, p::3] += shift
    factor = np.ascontiguousarray(matrix)
    if not cholesky(factor):  # not expected without voids; the pseudo-inverse then
        with threadpool_limits(limits=1, user_api="blas"):  # same bits for any thread count
            inverse = np.linalg.pinv(_dense(coefficients), hermitian=True)

        def dense(b: np.ndarray, x: np.ndarray) -> None:
            matvec(inverse, b.reshape(-1), x.reshape(-1))

        return dense

    every = np.arange(matrix.shape[0], dtype=np.int64)

    def direct(b: np.ndarray, x: np.ndarray) -> None:
        cholesky_solve(factor, every, b.reshape(-1), x.reshape(-1))

    return direct


def hierarchy(problem) -> list[_Level]:
    """The levels of the periodic Q1 operator of `problem` (``cell_problem.Problem``)."""
    from sve.solvers.elasticity.q1 import element_stiffness

    material = problem.material
    dense = element_stiffness(problem.stack, problem.h)  # (n, 24, 24)
    n = dense.shape[0]
    blocks = dense.reshape(n, 8, 3, 8, 3)
    diagonal = np.einsum("nacad->nacd", blocks)  # the 8 diagonal blocks per material
    upper = 0.0
    for m in np.unique(material):
        de = scipy.linalg.block_diag(*diagonal[m])
        upper = max(upper, float(scipy.linalg.eigh(dense[m], de, eigvals_only=True)[-1]))
    sym = np.stack([diagonal[..., i, j] for i, j in _SYM], axis=-1)
    shapes = level_shapes(material.shape)
    inverse = np.empty(material.shape + (6,), dtype=np.float32)
    kernels.fine_block_inverse[_parallel(material.shape)](
        material, np.ascontiguousarray(sym), inverse
    )
    zero = np.zeros(24)

    def apply_fine(x: np.ndarray, out: np.ndarray) -> None:
        problem._force(x, zero, material, problem.ke, out)

    levels = [_Level(material.shape, apply_fine, inverse, upper * (1.0 + _SLACK))]
    p = _child_interpolation()
    p3 = np.einsum("cab,pq->capbq", p, np.eye(3)).reshape(8, 24, 24)
    unit = np.ascontiguousarray(np.einsum("cai,nab,cbj->cnij", p3, dense, p3))
    taps = _child_taps()
    elements = None  # element matrices of the current level (level 1: two rows at a time)
    for index in range(1, len(shapes)):
        shape = shapes[index]
        last = index == len(shapes) - 1
        coefficients = np.zeros(shape + (14, 3, 3), dtype=np.float64 if last else np.float32)
        following = None if last else np.empty(shapes[index + 1] + (24, 24))
        rows = 2 if not last else shape[0]
        for first in range(0, shape[0], rows):
            if index == 1:
                part = np.empty((rows,) + shape[1:] + (24, 24))
                kernels.level_one_elements[_parallel(shape)](material, unit, first, part)
            else:
                part = elements[first : first + rows]
            kernels.assemble_blocks(part, first, coefficients)
            if following is not None:
                kernels.galerkin_elements[_parallel(shape)](
                    part, *taps, following[first // 2 : first // 2 + 1]
                )
        elements = following
        level_inverse = np.empty(shape + (6,))
        kernels.stencil_inverse[_parallel(shape)](coefficients, level_inverse)
        level = _Level(
            shape,
            _stencil_apply(coefficients),
            level_inverse,
            _stencil_bound(coefficients) * (1.0 + _SLACK),
        )
        if last:
            level.coarsest = _coarsest_solve(coefficients)
        levels.append(level)
    return levels


_SYM = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def _interval(upper: float) -> tuple[float, float]:
    """Centre and half-width of the smoothed interval ``[upper / RATIO, upper]``."""
    lower = upper / RATIO
    return 0.5 * (upper + lower), 0.5 * (upper - lower)


class Cycle:
    """``apply(r, out)``: ``out = B r``, one symmetric multigrid cycle from zero.

    Degrees of the Chebyshev smoother ``FINE_DEGREE`` (image) and ``DEGREE`` (coarse
    levels), before and after the coarse correction; ``gamma`` coarse cycles per
    correction (1: V-cycle, 2: W-cycle, the second on the residual of the first, ``B_2 =
    2 B - B A B``, symmetric positive semi-definite).
    """

    def __init__(self, levels: list[_Level], degree: int, fine_degree: int, gamma: int) -> None:
        self.levels = levels
        self.degrees = [fine_degree] + [degree] * (len(levels) - 1)
        self.gamma = gamma
        # Per level: q (A x), d (Chebyshev direction), r and y (post-smoothing), b and x
        # (coarse levels), b2 and x2 (second cycle). Level 0 smoothed by one Jacobi sweep
        # needs q alone.
        self.work = []
        for index, level in enumerate(levels):
            shape = level.shape + (3,)
            names = ["q"]
            if self.degrees[index] > 1:
                names += ["d", "r", "y"]
            if index > 0:
                names += ["b", "x"]
                if gamma > 1 and level.coarsest is None:
                    names += ["b2", "x2"]
            self.work.append({name: np.empty(shape) for name in names})
        self.parallel = [_parallel(level.shape) for level in levels]

    def _smooth(self, index: int, b: np.ndarray, y: np.ndarray) -> None:
        """``y = S b`` (Chebyshev from zero) on level `index`."""
        level = self.levels[index]
        par = self.parallel[index]
        theta, delta = _interval(level.upper)
        inverse = level.inverse.reshape(-1, 6)
        flat_y, flat_b = y.reshape(-1, 3), b.reshape(-1, 3)
        kernels.block_first[par](flat_y, flat_b, inverse, 1.0 / theta)
        degree = self.degrees[index]
        if degree == 1:
            return
        work = self.work[index]
        d, q = work["d"], work["q"]
        d[...] = y
        sigma = theta / delta
        rho = 1.0 / sigma
        for _ in range(1, degree):
            level.apply(y, q)
            rho_next = 1.0 / (2.0 * sigma - rho)
            kernels.block_next[par](
                flat_y,
                d.reshape(-1, 3),
                flat_b,
                q.reshape(-1, 3),
                inverse,
                rho_next * rho,
                2.0 * rho_next / delta,
            )
            rho = rho_next

    def _correction(self, index: int, b: np.ndarray, x: np.ndarray) -> None:
        self._cycle(index, b, x)
        level = self.levels[index]
        if level.coarsest is not None:
            return
        work = self.work[index]
        for _ in range(1, self.gamma):
            level.apply(x, work["b2"])
            kernels.residual[self.parallel[index]](
                b.reshape(-1), work["b2"].reshape(-1), work["b2"].reshape(-1)
            )
            self._cycle(index, work["b2"], work["x2"])
            x += work["x2"]

    def _cycle(self, index: int, b: np.ndarray, x: np.ndarray) -> None:
        level = self.levels[index]
        if level.coarsest is not None:
            level.coarsest(b, x)
            return
        work = self.work[index]
        below = self.work[index + 1]
        par = self.parallel[index]
        q = work["q"]
        self._smooth(index, b, x)
        level.apply(x, q)
        kernels.restrict[self.parallel[index + 1]](b, q, below["b"])
        self._correction(index + 1, below["b"], below["x"])
        kernels.prolong_add[par](below["x"], x)
        level.apply(x, q)
        if self.degrees[index] == 1:
            theta = _interval(level.upper)[0]
            kernels.block_jacobi_add[par](
                x.reshape(-1, 3), b.reshape(-1, 3), q.reshape(-1, 3), level.inverse.reshape(-1, 6),
                1.0 / theta,
            )  # fmt: skip
        else:
            r, y = work["r"], work["y"]
            kernels.residual[par](b.reshape(-1), q.reshape(-1), r.reshape(-1))
            self._smooth(index, r, y)
            x += y

    def __call__(self, r: np.ndarray, out: np.ndarray) -> None:
        """Write one cycle's approximation of ``A^-1 r`` into `out`."""
        self._cycle(0, r, out)


def multigrid(problem, *, gamma: int | None = None) -> Operator:
    """Return ``apply(r, out)``, the multigrid preconditioner of the periodic problem
    `problem` (``cell_problem.Problem``, `supported`): ``out = Pi B Pi r`` with ``B`` one
    `Cycle` and ``Pi`` the removal of the mean of every component (the translations).
    """
    levels = hierarchy(problem)
    gamma = GAMMA if gamma is None else gamma
    # One cycle (its work vectors) per thread that applies it: load cases solved side by
    # side (``threads.run_cases``) share the levels (read only), not the work vectors.
    local = threading.local()

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        cycle = getattr(local, "cycle", None)
        if cycle is None:
            cycle = local.cycle = Cycle(levels, DEGREE, FINE_DEGREE, gamma)
        cycle(r, out)
        kernels.remove_mean[_parallel(levels[0].shape)](out)

    return apply

"""Geometric multigrid preconditioner of the Q1 conductivity operator (private).

The measured alternative to the reference-medium preconditioner of
``_core/transforms.py``: ``apparent_conductivity(..., preconditioner="multigrid")``;
``benchmarks/bench_preconditioners.py`` compares them.

Hierarchy
---------
Level 0 is the image itself: the matrix-free Q1 operator of ``conductivity/q1_kernels.py``
on the node grid of ``_q1.Q1Grid``. Each coarser level halves every axis; its
operator is the Galerkin product ``A_c = R A P`` with ``P`` the trilinear
(bilinear in 2-D) interpolation from the coarse nodes and ``R = P^T``
(Trottenberg, Oosterlee & Schüller 2001, sec. 2.3 and A.2.4). Q1 spaces
are nested and ``P`` interpolates inside each coarse voxel from its own
corners, so ``R A P`` is the assembly of the element products
``sum_c P_c^T K_e(c) P_c`` over the ``2**d`` children ``c`` of every coarse
voxel: it is formed element by element (one dense ``2**d x 2**d`` matrix
per coarse voxel) and assembled once per level with ``scipy.sparse``.
Vertex-centred coarsening: coarse node ``i`` is fine node ``2 i``, so a
periodic axis of ``2 m`` nodes gives ``m`` and an open axis (the ``N + 1``
nodes of a Dirichlet or Neumann boundary) of ``2 m - 1`` gives ``m``, its end
nodes staying end nodes. The Neumann operator needs nothing more: its
element products are those of the voxels, and no coupling crosses the ends.
The Dirichlet end nodes are fixed at zero on every level (zero inverse
diagonal, left out of the coarsest solve): a coarse free node interpolates
only onto fine free nodes, so the free block of ``R A P`` is the Galerkin
product of the Dirichlet operator, and the residuals of the fixed nodes,
never used, reach only fixed nodes below.
On box voxels an axis may be left fine for a while (semi-coarsening, below):
its coarse node is its fine node, with the identity as interpolation.
Galerkin coarsening keeps the coarse operators faithful to jumping
coefficients, which rediscretizing a coarsened image would not (Alcouffe,
Brandt, Dendy & Painter 1981); with trilinear rather than
operator-dependent interpolation it is not fully robust to them, which the
benchmark measures.

Semi-coarsening
---------------
With voxel edges ``h_a`` per axis, the Q1 operator couples neighbours along
axis ``a`` with a weight proportional to ``prod(h) / h_a**2``: on ``(1, 1,
3)`` voxels 9 times more weakly along the long axis. The pointwise smoother
then leaves the errors that are smooth along the strong axes and oscillate
along the weak one, and full coarsening cannot represent them (1.4-1.7 times
the cubic iteration count at 32**3, ``benchmarks/bench_spacing.py``). Each
level therefore halves only the axes whose edge ``H_a`` (the voxel edge times
the coarsening so far) gives a coupling ``(min H / H_a)**2`` of at least
``STRONG`` (`coarsening_steps`), which makes the coarse edges equal again
before full coarsening resumes (Trottenberg, Oosterlee & Schüller 2001,
sec. 5.1). Cubic voxels halve every axis on every level, as before. For a
homogeneous medium the Galerkin operator of trilinear interpolation is the
Q1 operator of the coarse voxels, so ``H_a`` is what the coarse level sees.
The counts then stay those of cubic voxels (1.00 times at 32**3 and 64**3
on ``(1, 1, 3)``), but a level that halves two axes of three keeps a quarter
of the nodes instead of an eighth: the first coarse level holds about twice
the memory given under Memory, and a cycle costs about 1.5 times more.

Smoother and coarsest level
---------------------------
A Chebyshev polynomial in ``D^-1 A`` (``D`` the diagonal of ``A``) on
``[lambda_max / RATIO, lambda_max]`` (Adams, Brezina, Hu & Tuminaro 2003),
of degree ``DEGREE`` on the coarse levels and ``FINE_DEGREE`` on the image
(degree 1 is damped Jacobi): pointwise, so indifferent to the size of the
coefficients. The same polynomial before and after the coarse correction
makes the cycle symmetric. ``lambda_max`` is a bound, never an estimate,
so that the smoother contracts in the energy norm and the cycle is
positive semi-definite: on level 0 the element bound ``max_e
lambda_max(diag(K_e)^-1 K_e)`` (3/2 for Q1 in 2-D and 3-D, every scalar
conductivity), on the coarse levels the Gershgorin bound of the assembled
matrix. The coarsest level (at most ``COARSEST`` nodes, or the first level
with an odd axis) is solved with the symmetric pseudo-inverse of its dense
matrix. The default cycle is a W-cycle (two coarse cycles per correction,
``GAMMA``): against jumping coefficients it needed half the iterations of
the V-cycle for about 1.3 times its cost.

Memory
------
In bytes per voxel of the image (3-D; docs/solver_notes.rst has the whole
table). From ``SLABS_FROM`` nodes (a 64^3 image) level 0 stores no field: its
Jacobi sweep and the restriction of its
residual read ``A x`` a slab of ``ROWS`` node planes at a time (`_Slabs`:
buffers of a few planes, 1.5 bytes per voxel at 160^3, 0.5 at 500^3), and its
inverse diagonal is made in the same slabs from the labels. The coarse levels
store the upper half of their stencil rows (14 of 27 entries) in float32 but
on the coarsest (level 1: 7; laid out padded for ``stencil_padded_3d``, one node
more on both sides of axes 1 and 2: 0.35 more at 160^3, 0.11 at 500^3, for 2.3 times
the speed of ``stencil_3d``), their inverse diagonal in float32 (0.5) and 4
work vectors (``b``, ``x``, the Chebyshev direction ``d`` and ``q = A x``),
float32 in 3-D (level 1: 2). About 11 in all, where the level-0 diagonal and
work array, 8 float64 work vectors a level and float64 coarse diagonals took
30: the peak growth of a periodic solve went from 66.8 to 49.4 bytes per
voxel at 160^3 (``benchmarks/bench_memory.py``, record ``memory_q1mg``; 46.8
since its warm-up loads the slab kernels first; 38.8 since the solve keeps no
solution, ``pcg.pcg_free``; 39.1 since the padded layout). Below ``SLABS_FROM`` nodes
level 0 keeps ``A x`` (float64) and its inverse diagonal (float32) as fields,
made once (12 bytes per voxel, under 3 MB): re-forming them a slab at a time
in every cycle took a quarter of a 32^3 tensor's time; their 3-D coarse levels of at
least ``PADDED_FROM`` nodes keep their stencil a second time, padded for the vectorized
``stencil_padded_3d`` (0.3 MB at 32^3), and their level 2 is summed from the voxels
(`_grandchild_units`). In
2-D level 0 keeps its float32 inverse diagonal and one work array ``q`` and
the coarse vectors are float64 (float32 in single precision).

Compiled V-cycle
----------------
On images below ``SLABS_FROM`` nodes without voids, the V-cycle (one Jacobi
sweep on level 0, Chebyshev of degree 2 below, a Cholesky factor on the
coarsest of at least three levels) runs as one Numba call,
``q1_multigrid_kernels.v_cycle``: the kernels of `Cycle._cycle` with the same
scalars in the same order, so the same bits without the interpreter between
the levels (a 64^2 cycle 0.104 -> 0.086 ms, 32^3 0.91 -> 0.87 ms). The
W-cycle, voids, single precision and large images keep the interpreted cycle.

Null space
----------
Voids give rows of zero (nodes touching no conducting voxel: their inverse
diagonal is 0) and floating clusters. The cycle ``B`` is symmetric
positive semi-definite; the caller makes it the preconditioner ``Pi B Pi``
with ``Pi`` the orthogonal projector that removes the null space of ``A``
(periodic and static conditions: the mean without voids, see ``multigrid``;
the cluster means and empty nodes with voids, ``_clusters.projector``), as
the transform preconditioner does. Kinematic and mixed conditions have no
null space once the clusters that carry no flux are made void
(``conductivity.cell_problem.load_case_solver``).

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
import math
from dataclasses import dataclass

import numpy as np

from sve.solvers._core.boundary import face_slice
from sve.solvers._core.cholesky import cholesky, cholesky_solve
from sve.solvers._core.pcg import Operator
from sve.solvers._core.q1_geometry import corner_hadamard, corner_offsets, zero_dirichlet_ends
from sve.solvers._core.spacing import per_axis
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1 import element_modes
from sve.solvers.conductivity.q1_kernels import nodal_flux_2d, nodal_flux_3d
from sve.solvers.conductivity.q1_multigrid_kernels import (
    assemble_stencil,
    chebyshev_first,
    chebyshev_residual,
    galerkin,
    galerkin_scalar,
    inverse_diagonal_planes,
    jacobi_add,
    pad_stencil_3d,
    prolong_add_2d,
    prolong_add_3d,
    restrict_2d,
    restrict_3d,
    restrict_planes_3d,
    stencil_2d,
    stencil_3d,
    stencil_padded_3d,
    v_cycle,
)
from sve.solvers.conductivity.q1_small_kernels import (
    empty_scratch,
    prolong_separable_2d,
    prolong_separable_3d,
    restrict_separable_2d,
    restrict_separable_3d,
    v_cycle_single,
    v_cycle_small,
)

# Largest number of nodes solved directly (a dense pseudo-inverse, O(n^3) once, O(n^2) a cycle).
COARSEST = 64
# Largest coarsest level accepted when an odd axis stops the coarsening early.
LARGEST_COARSEST = 512
# The smoother damps the eigenvalues of D^-1 A in [lambda_max / RATIO, lambda_max]; with the
# degree 2 this pair took the fewest operator applications over the benchmark's media.
RATIO = 8.0
DEGREE = 2
# Degree on level 0, where an operator application costs 4-8 times that of level 1: a single
# damped Jacobi sweep there took 4-15 % less time than degree 2 at 128^3 (more iterations).
FINE_DEGREE = 1
# Coarse cycles per coarse correction: the W-cycle halved the iterations of the V-cycle at
# 128^3 with contrast 1e4 and with voids, for about 1.3 times its cost.
GAMMA = 2
# The V-cycle (gamma 1) instead on images of at most V_CYCLE_LARGEST voxels without voids
# and of contrast at most V_CYCLE_CONTRAST: level cuts of correlation length 4, contrast 100,
# periodic, took 0.87, 0.90 and 0.94 times the CPU time of the W-cycle at 16^3, 32^3 and 64^3
# (a few more iterations, half the coarse-level visits; benchmarks/bench_throughput.py).
V_CYCLE_LARGEST = 64**3
V_CYCLE_CONTRAST = 100.0
# An axis is halved on a level where its coupling (min H / H_a)**2 is at least this fraction of
# the strongest (H the coarse voxel edges; semi-coarsening; every axis on cubic voxels).
STRONG = 0.5
# Node planes per slab of level 0's operator in 3-D (`_Slabs`): buffers of 2 ROWS + 6 planes
# (1.3 bytes per voxel at 128^3, 0.3 at 500^3) for 1 / ROWS more work on level 0.
ROWS = 8
# Nodes of level 0 from which its operator runs a slab at a time (`_Slabs`, 3-D, degree 1);
# below, level 0 keeps its inverse diagonal (float32) and ``A x`` as fields, made once.
SLABS_FROM = 2**18
# Coarse levels (3-D, not the coarsest) of images below SLABS_FROM nodes with at least this
# many nodes keep their stencil a second time, laid out for `stencil_padded_3d` (vectorized,
# the same bits): 0.026 against 0.057-0.080 ms at 16^3, 0.013 against 0.022 at 12^3, alike
# at 8^3; the copy is 14 float32 per padded node, 0.3 MB at 16^3 (a 32^3 image). The coarse
# levels of larger images keep the padded layout only (2.3 times as fast as `stencil_3d` at
# 64^3 nodes; a 128^3 tensor 6.7-7.2 -> 6.1-6.3 s, solver notes "Small SVEs", ninth round).
PADDED_FROM = 16**3
# Level 0's bound of the spectrum of D^-1 A times this on images below SLABS_FROM nodes:
# its Jacobi sweep damped 1 / 1.2 more. Iterations per load case (tol 1e-6, level cuts of
# correlation length 4; 1.0 -> 1.2): 32^3 periodic contrast 100 10.7 -> 10.0 (8 SVEs of the
# throughput benchmark: 11.0 -> 10.25), contrast 1e4 9.0 -> 9.0, with voids 10.0 -> 9.7,
# mixed 14.3 -> 14.3, static (contrast 10) 10 -> 8, 48^3 13.0 -> 12.3, 64^2 20 -> 20;
# 0.9 took 23 (the sweep then near its limit of stability), 1.1 to 1.3 alike.
FINE_MARGIN = 1.2
# Index arrays of the set-up (`_assembly`, `_child_voxels`) of grids of at most this many
# entries are made once per grid and kept (int64: at most 0.5 MB each, 32 of each kind): the
# SVEs of a study share them; 1 ms of a 32^3 tensor's set-up.
CACHED_INDICES = 2**16
# Level 0 of the compiled V-cycle of 3-D images below SLABS_FROM nodes in single precision
# (`Cycle`'s fine_dtype; the conjugate gradient, its residuals and the tensor stay float64):
# 0.72 -> 0.65 ms per 32^3 cycle; at 64^2 the float32 cycle took 0.075 ms against 0.072.
# Its operator is `flux_planes`; the 3-D double solves (float32 coarse levels) take it
# since the sixth throughput round.
FINE_DTYPE = np.float32
# Eigenvalues of the coarsest matrix below this fraction of the largest are its null space.
_NULL = 1e-11


def supported(
    kinds: tuple[str, ...], shape: tuple[int, ...], spacing: float | np.ndarray = 1.0
) -> bool:
    """Whether `multigrid` serves an image of `shape` (voxels, edges `spacing` per axis)
    with boundary `kinds`.
    """
    coarsest = _level_shapes(shape, spacing)[-1]
    return int(np.prod(_node_shape(coarsest, kinds))) <= LARGEST_COARSEST


def coarsening_steps(edges: np.ndarray) -> np.ndarray:
    """Per axis, 2 where a level with voxel edges `edges` is halved and 1 where it is left
    fine: the axes whose coupling ``(min(edges) / edges[a])**2`` is at least ``STRONG``.
    """
    coupling = (edges.min() / edges) ** 2
    return np.where(coupling >= STRONG * (1.0 - 1e-12), 2, 1).astype(np.int64)


def _level_shapes(shape: tuple[int, ...], spacing: float | np.ndarray) -> list[tuple[int, ...]]:
    """Voxels per axis of every level of an image of `shape` voxels, finest first: each
    level halves the axes of `coarsening_steps`, while it has more than ``COARSEST`` voxels
    and those axes are even and at least 4 long.
    """
    edges = tuple(float(edge) for edge in per_axis(spacing, len(shape)))
    return list(_cached_level_shapes(tuple(int(n) for n in shape), edges))


@functools.lru_cache(maxsize=256)
def _cached_level_shapes(shape: tuple[int, ...], edges: tuple[float, ...]) -> tuple:
    """`_level_shapes`, made once per shape and voxel edges (a study asks for the same
    ones for every SVE; 0.2 ms a call).
    """
    shapes = [tuple(shape)]
    edges = np.array(edges)
    while int(np.prod(shapes[-1])) > COARSEST:
        steps = coarsening_steps(edges)
        halved = [n for n, s in zip(shapes[-1], steps, strict=True) if s == 2]
        if not all(n % 2 == 0 and n >= 4 for n in halved):
            break
        shapes.append(tuple(int(n // s) for n, s in zip(shapes[-1], steps, strict=True)))
        edges = edges * steps
    return tuple(shapes)


def _node_shape(shape: tuple[int, ...], kinds: tuple[str, ...]) -> tuple[int, ...]:
    """Nodes per axis of a grid of `shape` voxels: as many on a periodic axis, one more on
    an open one (Dirichlet or Neumann), as in ``_q1.Q1Grid``.
    """
    return tuple(n if kind == "periodic" else n + 1 for n, kind in zip(shape, kinds, strict=True))


def restriction_taps(coarse: int, periodic: bool, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Fine nodes and weights of the restriction along one axis (``restrict_2d``).

    Coarse node ``i`` is fine node ``2 i``; it gathers ``2 i - 1, 2 i, 2 i + 1`` with the
    weights ``1/2, 1, 1/2`` (``P^T`` of linear interpolation), wrapped on a periodic axis of
    ``2 * coarse`` fine nodes; an open axis has ``2 * coarse - 1`` and no node beyond its ends
    (weight 0). An axis left fine (``step=1``) gathers its own node, weights ``0, 1, 0``.
    """
    if step == 1:
        taps = np.repeat(np.arange(coarse)[:, None], 3, axis=1)
        return taps, np.broadcast_to(np.array([0.0, 1.0, 0.0]), taps.shape).copy()
    fine = 2 * coarse if periodic else 2 * coarse - 1
    taps = 2 * np.arange(coarse)[:, None] + np.array([-1, 0, 1])
    weights = np.broadcast_to(np.array([0.5, 1.0, 0.5]), taps.shape).copy()
    outside = ((taps < 0) | (taps >= fine)) & (not periodic)
    weights[outside] = 0.0
    taps = np.where(outside, 0, taps % fine)
    return np.ascontiguousarray(taps), weights


def prolongation_taps(coarse: int, periodic: bool, step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Coarse nodes and weights of the interpolation along one axis (``prolong_add_2d``);
    an axis left fine (``step=1``) copies its node (weights ``1, 0``).
    """
    if step == 1:
        taps = np.repeat(np.arange(coarse)[:, None], 2, axis=1)
        return taps, np.broadcast_to(np.array([1.0, 0.0]), taps.shape).copy()
    fine = np.arange(2 * coarse if periodic else 2 * coarse - 1)
    taps = np.stack([fine // 2, (fine + 1) // 2 % coarse], axis=1)
    odd = (fine % 2 == 1)[:, None]
    weights = np.where(odd, 0.5, np.array([1.0, 0.0]))
    return np.ascontiguousarray(taps), weights


def child_interpolation(ndim: int, steps: np.ndarray | None = None) -> np.ndarray:
    """Trilinear interpolation inside one coarse voxel, per child voxel.

    `steps` gives the children per axis (2 on a halved axis, 1 on one left fine; 2 on
    every axis by default).

    Returns
    -------
    ndarray of shape (prod(steps), 2**d, 2**d), float64
        ``P[c, a, b]``: weight of coarse corner ``b`` at corner ``a`` of the
        child voxel ``c`` (children numbered in C order over `steps`, corners as in
        ``_q1.corner_offsets``).
    """
    steps = np.full(ndim, 2) if steps is None else np.asarray(steps)
    return _child_interpolation(int(ndim), tuple(int(s) for s in steps))


@functools.lru_cache(maxsize=64)
def _child_interpolation(ndim: int, steps: tuple[int, ...]) -> np.ndarray:
    """`child_interpolation`, made once per `ndim` and `steps` (read-only): it depends on
    nothing else, and forming it took 7 % of a 32**3 tensor's time.
    """
    # 1-D weights of the coarse corners 0 and 1 at the fine positions 0, 1, 2 (coarse edge 2),
    # and at the positions 0, 1 of an axis left fine (the identity).
    weights = {2: np.array([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]]), 1: np.eye(2)}
    offsets = corner_offsets(ndim)
    children = list(np.ndindex(*(int(s) for s in steps)))
    out = np.ones((len(children), 2**ndim, 2**ndim))
    for c, child in enumerate(children):
        for a, corner in enumerate(offsets):
            for b, coarse in enumerate(offsets):
                out[c, a, b] = np.prod(
                    [weights[int(steps[i])][coarse[i], child[i] + corner[i]] for i in range(ndim)]
                )
    out.flags.writeable = False
    return out


def _children(values: np.ndarray, ndim: int, steps: np.ndarray | None = None) -> np.ndarray:
    """Regroup per-voxel `values` (shape (*shape, ...)) as (coarse voxels, prod(steps)
    children, ...), `steps` voxels per child along each axis (2 by default).
    """
    steps = np.full(ndim, 2) if steps is None else steps
    shape = values.shape[:ndim]
    tail = values.shape[ndim:]
    split = []
    for n, step in zip(shape, steps, strict=True):
        split += [n // int(step), int(step)]
    grouped = values.reshape(tuple(split) + tail)
    order = list(range(0, 2 * ndim, 2)) + list(range(1, 2 * ndim, 2))
    order += list(range(2 * ndim, 2 * ndim + len(tail)))
    return grouped.transpose(order).reshape((-1, int(np.prod(steps))) + tail)


def _child_voxels(shape: tuple[int, ...], ndim: int, steps: np.ndarray) -> np.ndarray:
    """`_children` of the flat voxel indices of a grid of `shape` voxels: (coarse voxels,
    children) (made once per grid of at most ``CACHED_INDICES`` voxels, read-only).
    """
    key = (tuple(int(n) for n in shape), int(ndim), tuple(int(s) for s in steps))
    if int(np.prod(shape)) <= CACHED_INDICES:
        return _cached_child_voxels(*key)
    return _children(np.arange(int(np.prod(shape))).reshape(shape), ndim, steps)


@functools.lru_cache(maxsize=32)
def _cached_child_voxels(shape: tuple[int, ...], ndim: int, steps: tuple[int, ...]):
    """`_child_voxels` of a small grid, made once."""
    out = _children(np.arange(int(np.prod(shape))).reshape(shape), ndim, np.array(steps))
    out = np.ascontiguousarray(out)
    out.flags.writeable = False
    return out


def stencil(
    elements: np.ndarray, shape: tuple[int, ...], nodes: tuple[int, ...] | None = None
) -> np.ndarray:
    """Assemble element matrices into the coefficients of a nodal stencil.

    Parameters
    ----------
    elements : ndarray of shape (voxels, 2**d, 2**d), float64
        One symmetric matrix per voxel of a grid of `shape` voxels (C
        order), corners as in ``_q1.corner_offsets``.
    shape : tuple of int
        Voxels per axis.
    nodes : tuple of int, optional
        Nodes per axis: ``shape`` on a periodic axis (the default for every
        axis), ``shape + 1`` on an open one (`_node_shape`).

    Returns
    -------
    ndarray of shape (*nodes, (3**d + 1) // 2), float64
        The upper half of the rows of the assembled matrix: entry ``t`` of
        node ``n`` couples it to node ``n + o(s)``, ``s = t + (3**d - 1) / 2``
        and ``o(s)`` the base-3 digits of ``s`` minus 1 (``t = 0`` the
        diagonal). The lower half is that of the neighbours (``A[n, n - o] =
        A[n - o, n]``), never stored: the operator is exactly symmetric and
        its coarse levels take half the memory (the layout of ``stencil_2d``
        and ``stencil_3d``). On an open axis the couplings across the ends
        are zero.
    """
    nodes = shape if nodes is None else nodes
    out = np.zeros(nodes + ((3 ** len(shape) + 1) // 2,))
    _assemble_rows(elements, shape, nodes, 0, out)
    return out


def _assemble_rows(
    elements: np.ndarray, shape: tuple[int, ...], nodes: tuple[int, ...], first: int, out
) -> None:
    """Add to the stencil `out` (`nodes` per axis) the element matrices of the voxels of
    `shape` whose index along axis 0 starts at `first` (as many rows as `elements` holds).
    """
    rows = elements.shape[0] // int(np.prod(shape[1:]))
    key = (tuple(int(n) for n in shape), tuple(int(n) for n in nodes), rows, int(first))
    # small grids (the SVEs of a study): the indices made once per key; larger: per call.
    # The size of the whole grid decides, not the slab's: the slabs of a large grid have a
    # key each (`first`), and caching them held up to 32 arrays (5 bytes per voxel more
    # at 160^3, mixed).
    small = int(np.prod(shape)) * elements.shape[1] <= CACHED_INDICES
    corner_nodes, offsets = (_cached_assembly if small else _assembly)(*key)
    flat = out.reshape(-1, out.shape[-1])
    assemble_stencil(elements, corner_nodes, offsets, flat)


def _assembly(shape, nodes, rows, first) -> tuple[np.ndarray, np.ndarray]:
    """The arguments of `assemble_stencil` for `rows` rows of voxels of a grid of `shape`
    voxels and `nodes` nodes from row `first` on: the node of every corner and the stored
    entry of every pair of corners.
    """
    ndim = len(shape)
    corners = corner_offsets(ndim)
    index = np.indices((rows,) + shape[1:]).reshape(ndim, -1, 1) + corners.T[:, None, :]
    index[0] += first
    # wraps only on periodic axes: an open axis has a node past its last voxel
    corner_nodes = np.ravel_multi_index(tuple(index), nodes, mode="wrap")
    offsets = np.ravel_multi_index(tuple((corners[None, :] - corners[:, None] + 1).T), (3,) * ndim)
    offsets -= (3**ndim - 1) // 2  # stored entries; the lower half (negative) is skipped
    return corner_nodes, np.ascontiguousarray(offsets.T)


@functools.lru_cache(maxsize=32)
def _cached_assembly(shape, nodes, rows, first) -> tuple[np.ndarray, np.ndarray]:
    """`_assembly` made once per grid (read-only arrays; small grids only)."""
    arrays = _assembly(shape, nodes, rows, first)
    for array in arrays:
        array.flags.writeable = False
    return arrays


def _upper_offsets(ndim: int) -> list[tuple[int, ...]]:
    """The offsets ``o`` of the stored entries of a stencil (`stencil`), diagonal first."""
    return [tuple(o - 1 for o in offset) for offset in np.ndindex((3,) * ndim)][
        (3**ndim - 1) // 2 :
    ]


def _dense(coefficients: np.ndarray) -> np.ndarray:
    """The matrix of a stencil (`stencil`), dense."""
    shape = coefficients.shape[:-1]
    size = int(np.prod(shape))
    matrix = np.zeros((size, size))
    rows = np.arange(size)
    for index, cols in enumerate(_dense_columns(tuple(int(n) for n in shape))):
        np.add.at(matrix, (rows, cols), coefficients[..., index].reshape(-1))
        if index > 0:  # the lower half: A[n + o, n] = A[n, n + o]
            np.add.at(matrix, (cols, rows), coefficients[..., index].reshape(-1))
    return matrix


@functools.lru_cache(maxsize=64)
def _dense_columns(shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Per stored entry of a stencil on `shape` nodes (`_upper_offsets`), the column of
    every row (made once per shape: the coarsest levels, at most ``LARGEST_COARSEST`` nodes).
    """
    ndim = len(shape)
    nodes = np.indices(shape).reshape(ndim, -1)
    columns = []
    for offset in _upper_offsets(ndim):
        neighbours = (nodes + np.array(offset).reshape(ndim, 1)) % np.array(shape)[:, None]
        columns.append(np.ravel_multi_index(tuple(neighbours), shape))
        columns[-1].flags.writeable = False
    return tuple(columns)


@dataclass
class _Level:
    """One level of the hierarchy: nodes per axis, operator, smoother data, coarsest solve,
    and the taps of the transfers from the level above (`restriction_taps`,
    `prolongation_taps`: taps and weights of every axis in turn; empty on level 0).
    """

    shape: tuple[int, ...]
    apply: Operator
    inverse_diagonal: np.ndarray | None  # None on level 0 in 3-D: made by `slabs`
    upper: float
    coarsest: Operator | None = None
    coarsest_matrix: np.ndarray | None = None  # the dense matrix `coarsest` solves
    restriction: tuple = ()
    prolongation: tuple = ()
    slabs: _Slabs | None = None  # level 0 in 3-D: its operator a slab at a time
    operator: tuple = ()  # level 0: (k or labels, table or None, modes, offset) of `apply`


def _stencil_apply(coefficients: np.ndarray, pad: bool = False, keep: bool = True) -> Operator:
    """``apply(x, out)``: ``out = A x`` by the stencil `coefficients`; with `pad` (3-D) by
    `stencil_padded_3d` on a copy laid out by `pad_stencil_3d`, which without `keep`
    replaces `coefficients` (``apply.coefficients`` is then None: large images, whose
    interpreted cycle reads the stencil through `apply` only).
    """
    shape = coefficients.shape[:-1]
    if pad:
        padded = pad_stencil_3d(coefficients)
        coefficients = coefficients if keep else None

        def apply(x: np.ndarray, out: np.ndarray) -> None:
            stencil_padded_3d(padded, x.reshape(shape), out.reshape(shape))

    else:
        padded = np.empty((0, coefficients.shape[-1], 0), coefficients.dtype)
        kernel = stencil_2d if len(shape) == 2 else stencil_3d

        def apply(x: np.ndarray, out: np.ndarray) -> None:
            kernel(coefficients, x.reshape(shape), out.reshape(shape))

    apply.coefficients = coefficients  # for `v_cycle`
    apply.padded = padded
    return apply


def _inverse(diagonal: np.ndarray) -> np.ndarray:
    """``1 / diagonal`` where positive, 0 on the empty rows of voids."""
    out = np.zeros_like(diagonal)
    np.divide(1.0, diagonal, out=out, where=diagonal > 0.0)
    return out


def _gershgorin(coefficients: np.ndarray, inverse_diagonal: np.ndarray) -> float:
    """Upper bound of the eigenvalues of ``D^-1 A`` (largest row sum of ``|a_ij| / a_ii``)
    on the rows of nonzero `inverse_diagonal` (flat).
    """
    shape = coefficients.shape[:-1]
    if int(np.prod(shape)) < SLABS_FROM:  # |A| 1 by the stencil kernel (a copy of |A|)
        kernel = stencil_2d if len(shape) == 2 else stencil_3d
        sums = np.empty(shape)
        kernel(np.abs(coefficients).astype(np.float64), np.ones(shape), sums)
    else:  # one entry at a time: no copy of the stencil (memory of large images)
        ndim = len(shape)
        sums = np.zeros(shape)
        for index, offset in enumerate(_upper_offsets(ndim)):
            entry = np.abs(coefficients[..., index])
            sums += entry
            if index > 0:  # the lower half: row n holds |A[n, n - o]| = |A[n - o, n]|
                sums += np.roll(entry, offset, axis=tuple(range(ndim)))
    sums = sums.reshape(-1)
    rows = inverse_diagonal > 0.0
    return float((sums[rows] * inverse_diagonal[rows]).max()) if rows.any() else 1.0


def _interval(upper: float) -> tuple[float, float]:
    """Centre and half-width of the smoothed interval ``[upper / RATIO, upper]``."""
    lower = upper / RATIO
    return 0.5 * (upper + lower), 0.5 * (upper - lower)


def pseudo_inverse(matrix: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse of a symmetric positive semi-definite coarsest-level matrix
    (eigenvalues below ``_NULL`` times the largest taken for its null space).
    """
    values, vectors = np.linalg.eigh(matrix)
    keep = values > _NULL * max(values.max(), 0.0)
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T


def hierarchy(
    k: np.ndarray, spacing: float | np.ndarray, kinds: tuple[str, ...] | None = None
) -> list[_Level]:
    """The levels of the Q1 operator of the voxel conductivities `k` (float64, or Phases:
    the image's operator reads the labels, and level 1 is summed from ``table[labels]``
    a row of voxels at a time; in 2-D, or when the image is the only level, the field
    ``table[labels]`` is made while the levels are made, before the conjugate-gradient
    vectors exist).

    `kinds` gives the boundary kind of every axis, as in ``_q1.Q1Grid``:
    ``"periodic"`` (the default), ``"neumann"`` or ``"dirichlet"`` (an open
    axis of ``N + 1`` nodes, its two end nodes fixed at zero: their inverse
    diagonal is 0 on every level and their rows and columns are left out of
    the coarsest solve, so the cycle never changes them).
    """
    ndim = k.ndim
    kinds = ("periodic",) * ndim if kinds is None else tuple(kinds)
    periodic = [kind == "periodic" for kind in kinds]
    table = None
    if isinstance(k, Phases):  # level 0 reads the labels
        labels, table = k.labels, k.table
        voids = not bool(np.all(table[np.unique(labels)] > 0.0))
        shape0 = labels.shape
        if ndim == 2 or len(_level_shapes(shape0, spacing)) == 1:  # read whole below
            k = table[labels]  # (in 3-D level 1 reads the values a row of voxels at a time)
    else:
        voids = not bool(np.all(k > 0.0))
        shape0 = k.shape
    constants = "dirichlet" not in kinds  # the null space of the operator without voids
    hadamard = corner_hadamard(ndim)
    modes = element_modes(ndim, spacing)
    element = hadamard @ np.diag(modes) @ hadamard  # the unit element stiffness
    flux = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    offset = np.zeros(2**ndim)
    image_nodes = _node_shape(shape0, kinds)

    if table is None:

        def apply_fine(x: np.ndarray, out: np.ndarray) -> None:
            flux(x.reshape(image_nodes), offset, k, modes, out.reshape(image_nodes))

    else:  # the same values from the labels: the float64 field goes with `hierarchy`

        def apply_fine(x: np.ndarray, out: np.ndarray) -> None:
            flux(x.reshape(image_nodes), offset, labels, modes, out.reshape(image_nodes), table)

    upper = float(np.linalg.eigvalsh(element).max() / element[0, 0])
    if int(np.prod(image_nodes)) < SLABS_FROM:  # a more damped sweep on level 0
        upper *= FINE_MARGIN
    operator = (k, None, modes, offset) if table is None else (labels, table, modes, offset)
    shapes = _level_shapes(shape0, spacing)
    if ndim == 3 and len(shapes) > 1:  # the inverse diagonal made where it is read (_Slabs)
        values = k if table is None else labels
        slabs = _Slabs(values, table, modes, kinds, image_nodes, element[0, 0])
        levels = [_Level(image_nodes, apply_fine, None, upper, slabs=slabs, operator=operator)]
    else:  # single precision (half a field saved): it only scales the Jacobi sweep
        inverse_diagonal = _image_inverse_diagonal(k, kinds, element[0, 0]).astype(np.float32)
        levels = [_Level(image_nodes, apply_fine, inverse_diagonal, upper, operator=operator)]
    # voxels per child along each axis from level i to level i + 1 (2 halved, 1 left fine)
    steps = [
        np.array([n // m for n, m in zip(fine, coarse, strict=True)], dtype=np.int64)
        for fine, coarse in zip(shapes[:-1], shapes[1:], strict=True)
    ]
    if len(shapes) > 1:
        child = child_interpolation(ndim, steps[0])
        unit = np.einsum("cai,ab,cbj->cij", child, element, child)  # per child of level 0
    elements = None  # element matrices of the current level (level 1: made row by row)
    # Below SLABS_FROM nodes the levels from 2 on are made whole, in one call of each kernel
    # (the same sums in the same order; a 64^2 hierarchy took 3 ms in the interpreter row by
    # row, 1.3 whole), level 1 in 3-D in chunks of at most a field of the image
    whole = int(np.prod(image_nodes)) < SLABS_FROM
    grand = None  # `_grandchild_units`, made for the first chunk of level 1
    for index in range(1, len(shapes)):
        shape = shapes[index]
        nodes = _node_shape(shape, kinds)
        following = shapes[index + 1] if index + 1 < len(shapes) else None
        # The upper half of the rows (`stencil`), in single precision but on the coarsest
        # level: level 1's 27 coefficients per node in float64 would be 3.4 fields of the image,
        # the largest array of the hierarchy; its 14 in float32 are 0.9 (same iterations,
        # tensor to 2e-13 at 64^3). The coarsest stays in float64: in float32 too, its
        # pseudo-inverse took 13-15 iterations instead of 9 at 64^3 (round-off lifts the null
        # space of the periodic operator off 0).
        precision = np.float32 if following is not None else np.float64
        coefficients = np.zeros(nodes + ((3**ndim + 1) // 2,), dtype=precision)
        next_elements = None
        rows = shape[0]
        if following is not None:  # one or two rows of voxels make one row of the next level
            next_steps = steps[index]
            next_child = child_interpolation(ndim, next_steps)
            next_elements = np.empty((int(np.prod(following)), 2**ndim, 2**ndim))
            if not whole:
                rows = int(next_steps[0])
            elif index == 1:  # level 1's element matrices whole are 2**d fields of the
                # image: whole in 2-D (4), at most one a chunk in 3-D (of 8)
                fields = 2**ndim if ndim == 2 else 1
                rows = _chunk_rows(shape[0], int(next_steps[0]), shape[0] * fields // 2**ndim)
        row = int(np.prod(shape[1:]))
        for first in range(0, shape[0], rows):
            slab = (rows,) + shape[1:]
            if index == 1:  # the children of level 0 are k times the unit element: level 1
                # is made a row or two at a time on large images (8 fields of the image whole)
                fine = (int(steps[0][0]) * rows,) + shape0[1:]
                children = _child_voxels(fine, ndim, steps[0])
                voxels = slice(int(steps[0][0]) * first, int(steps[0][0]) * (first + rows))
                values = k[voxels] if table is None else table[labels[voxels]]
                part = np.empty((children.shape[0], 2**ndim, 2**ndim))
                galerkin_scalar(values.reshape(-1), children, unit, part)
            else:
                part = elements[first * row : (first + rows) * row]
            _assemble_rows(part, shape, nodes, first, coefficients)
            if following is not None:
                local = _child_voxels(slab, ndim, next_steps)
                size = int(np.prod(following[1:]))
                start = first // int(next_steps[0]) * size
                size *= rows // int(next_steps[0])
                target = next_elements[start : start + size]
                if index == 1 and whole:  # level 2 from the voxels (`_grandchild_units`)
                    grandchildren = children[local].reshape(local.shape[0], -1)
                    if grand is None:
                        grand = _grandchild_units(unit, next_child)
                    galerkin_scalar(values.reshape(-1), grandchildren, grand, target)
                else:
                    galerkin(part, local, next_child, target)
        elements = next_elements
        diagonal = coefficients[..., 0].astype(np.float64)
        inverse_diagonal = zero_dirichlet_ends(_inverse(diagonal), kinds).reshape(-1)
        if following is not None:  # float32 as the stencil (it scales the smoother only)
            inverse_diagonal = inverse_diagonal.astype(np.float32)
        upper = _gershgorin(coefficients, inverse_diagonal)
        # 3-D levels smoothed (not the coarsest) of small images from PADDED_FROM nodes keep
        # the padded stencil beside the plain one (the compiled cycle reads both)
        pad = whole and ndim == 3 and following is not None and math.prod(nodes) >= PADDED_FROM
        level = _Level(nodes, _stencil_apply(coefficients, pad), inverse_diagonal, upper)
        level.restriction = _taps(restriction_taps, nodes, periodic, steps[index - 1])
        level.prolongation = _taps(prolongation_taps, nodes, periodic, steps[index - 1])
        levels.append(level)
        if following is None:
            levels[-1].coarsest_matrix = _dense(coefficients)
            levels[-1].coarsest = _coarsest_inverse(
                levels[-1].coarsest_matrix, inverse_diagonal, constants=constants, voids=voids
            )
    if not whole and ndim == 3:  # large images: the padded layout only (0.44 bytes per
        # voxel of a 128^3 image, 0.11 at 500^3), laid out once the element matrices are
        # gone: the copy and its source of one level at a time stay below the peak of
        # making level 1 (its stencil and level 2's element matrices)
        elements = next_elements = None
        for level in levels[1:-1]:
            level.apply = _stencil_apply(level.apply.coefficients, True, keep=False)
    if len(levels) == 1:  # the image itself is small enough to solve directly
        unit = np.broadcast_to(element, k.shape + element.shape)
        elements = (k.reshape(k.shape + (1, 1)) * unit).reshape((-1,) + element.shape)
        matrix = _dense(stencil(elements, k.shape, levels[0].shape))
        levels[0].coarsest_matrix = matrix
        levels[0].coarsest = _coarsest_inverse(
            matrix, inverse_diagonal, constants=constants, voids=voids
        )
    return levels


def _grandchild_units(unit: np.ndarray, child: np.ndarray) -> np.ndarray:
    """``P_p^T unit_c P_p`` for every child ``p`` of a level-2 voxel (interpolation
    `child`) and child ``c`` of a level-1 voxel (`unit`, per child of level 0), numbered
    ``p * len(unit) + c``: level 2 of a scalar-conductivity image is then ``sum_v k_v
    units[v]`` over the voxels of the image in each of its voxels (`galerkin_scalar`).

    The same products as `galerkin` applied to level 1's element matrices, summed in
    another order (rounding apart), in the kernel that vectorizes: 0.35 against 1.9 ms
    for level 2 of a 32^3 image (docs/solver_notes.rst, "Small SVEs", eighth round).
    """
    transposed = np.swapaxes(child, 1, 2)[:, None]
    units = transposed @ unit[None] @ child[:, None]
    return np.ascontiguousarray(units.reshape((-1,) + unit.shape[1:]))


def _chunk_rows(rows: int, step: int, largest: int) -> int:
    """The most rows, a multiple of `step` dividing `rows`, at most `largest` (`step` at
    least).
    """
    best = step
    for chunk in range(step, max(largest, step) + 1, step):
        if rows % chunk == 0:
            best = chunk
    return best


def _image_inverse_diagonal(k: np.ndarray, kinds: tuple[str, ...], corner: float) -> np.ndarray:
    """Inverse diagonal (flat, float64) of the Q1 operator of `k` on its node grid: node ``n``
    gets ``corner`` (the diagonal entry of the unit element) times the conductivities of the
    voxels ``n - c`` for the corners ``c``; 0 on fixed and empty nodes.
    """
    ndim = k.ndim
    padded = k  # every axis padded so that each corner is one slice
    for axis, kind in enumerate(kinds):
        width = [(0, 0)] * ndim
        width[axis] = (1, 0) if kind == "periodic" else (1, 1)
        padded = np.pad(padded, width, mode="wrap" if kind == "periodic" else "constant")
    nodes = _node_shape(k.shape, kinds)
    diagonal = np.zeros(nodes)
    for c in corner_offsets(ndim):
        diagonal += padded[tuple(slice(1 - a, 1 - a + n) for a, n in zip(c, nodes, strict=True))]
    diagonal *= corner
    return zero_dirichlet_ends(_inverse(diagonal), kinds).reshape(-1)


def _taps(make, nodes: tuple[int, ...], periodic: list[bool], steps: np.ndarray) -> tuple:
    """Taps and weights of every axis in turn (`steps`: 2 on a halved axis, 1 on one left
    fine), the arguments of the transfer kernels.
    """
    key = tuple(zip(nodes, periodic, (int(step) for step in steps), strict=True))
    return _cached_taps(make, key)


@functools.lru_cache(maxsize=256)
def _cached_taps(make, key: tuple) -> tuple:
    """`_taps`, made once per axis description (the SVEs of a study share them; small
    arrays, never written).
    """
    return tuple(array for n, wraps, step in key for array in make(n, wraps, step))


def _coarsest_inverse(
    matrix: np.ndarray, inverse_diagonal: np.ndarray, *, constants: bool, voids: bool
) -> Operator:
    """``solve(b, x)``: the coarsest solve of `matrix` without the fixed and empty nodes
    (those of zero inverse diagonal), whose entries of ``x`` are 0.

    Without voids the kept matrix is positive definite (a Dirichlet axis) or has the
    constants alone for null space (`constants`: periodic and Neumann axes); it is then
    factored by `cholesky` (plus ``c 1 1^T / n``, ``c`` the mean diagonal, on the
    constants), which differs from the pseudo-inverse only by a constant times the mean of
    ``b``, which the trilinear interpolation carries as a constant to level 0, where the
    Galerkin operators do not see it and ``multigrid`` removes the mean. With voids (more
    null vectors: floating clusters), or if a pivot fails, `pseudo_inverse` as before.
    """
    keep = inverse_diagonal.reshape(-1) > 0.0
    block = np.ascontiguousarray(matrix[np.ix_(keep, keep)])
    if not voids:
        factor = block.copy()
        if constants:
            factor += float(np.mean(np.diag(block))) / len(block)
        if cholesky(factor):
            indices = np.flatnonzero(keep).astype(np.int64)

            def direct(b: np.ndarray, x: np.ndarray) -> None:
                cholesky_solve(factor, indices, b, x)

            direct.factor, direct.indices = factor, indices  # for `v_cycle`
            return direct
    inverse = np.zeros_like(matrix)
    inverse[np.ix_(keep, keep)] = pseudo_inverse(block)

    def dense(b: np.ndarray, x: np.ndarray) -> None:
        np.dot(inverse, b, out=x)

    return dense


class Cycle:
    """``apply(r, out)``: ``out = B r``, one symmetric multigrid cycle from zero on `levels`.

    Parameters
    ----------
    levels : list of _Level
        From `hierarchy`, finest first.
    degree : int
        Degree of the Chebyshev smoother on the coarse levels, before and
        after the coarse correction (``2 * degree`` operator applications
        per visit of a level).
    fine_degree : int
        The same on level 0 (the image).
    gamma : {1, 2}
        Coarse cycles per coarse correction: 1 a V-cycle, 2 a W-cycle
        (level ``l`` visited ``2**l`` times). The second cycle starts from
        the first one's result ``x``, which makes it ``x + B (b - A x)``:
        ``B_2 = 2 B - B A B``, symmetric, and positive semi-definite because
        the eigenvalues of ``B A`` lie in ``[0, 1]`` for a symmetric cycle with
        an energy-contracting smoother (Trottenberg, Oosterlee & Schüller 2001,
        sec. 2.4 and 7.8).
    dtype : numpy dtype, default float64
        Of the work arrays of the coarse levels but the coarsest (float32
        under ``precision="single"``); sums are formed in float64 either way.

    Notes
    -----
    Work arrays per level: ``b``, ``x``, the Chebyshev direction ``d`` and
    ``q = A x`` (the smoother runs as the Chebyshev iteration on ``A x = b``
    from the current ``x``, so the residuals are formed where they are read
    and the second cycle of a W-cycle needs no arrays of its own): 4 on a
    coarse level (8 before), ``d`` left out at degree 1. Level 0 gets its
    ``b`` and ``x`` from the caller; in 3-D at degree 1 it holds no field of
    the image at all: ``A x`` is formed a slab of node planes at a time
    (`_Slabs`) where the restriction and the Jacobi sweep read it.
    """

    def __init__(
        self,
        levels: list[_Level],
        degree: int,
        fine_degree: int,
        gamma: int,
        dtype: type = np.float64,
        fine_dtype: type = np.float64,
    ) -> None:
        self.levels = levels
        self.degrees = [fine_degree] + [degree] * (len(levels) - 1)
        self.gamma = gamma
        slabs = fine_degree == 1 and int(np.prod(levels[0].shape)) >= SLABS_FROM
        self.slabs = levels[0].slabs if slabs and len(levels) > 1 else None
        if levels[0].inverse_diagonal is None and self.slabs is None:  # read as an array
            levels[0].inverse_diagonal = levels[0].slabs.field()
        self.work = [
            tuple(
                None
                if self._unused(index, slot)
                else np.empty(level.shape, np.float64 if level.coarsest else dtype).reshape(-1)
                for slot in range(4)
            )
            for index, level in enumerate(levels)
        ]
        if self.work[0][3] is not None and len(levels[0].shape) == 3:  # A x of level 0
            # below SLABS_FROM nodes: float64, as the slabs' (2-D: float32 in single precision)
            self.work[0] = self.work[0][:3] + (np.empty(self.work[0][3].size),)
        self._restrict = restrict_2d if len(levels[0].shape) == 2 else restrict_3d
        self._prolong_add = prolong_add_2d if len(levels[0].shape) == 2 else prolong_add_3d
        self.scratch = None  # small images: the separable transfers (q1_small_kernels)
        if int(np.prod(levels[0].shape)) < SLABS_FROM and len(levels) > 1:
            self.scratch = scratch = empty_scratch([level.shape for level in levels])
            two = len(levels[0].shape) == 2
            restrict = restrict_separable_2d if two else restrict_separable_3d
            prolong = prolong_separable_2d if two else prolong_separable_3d
            self._restrict = lambda *args: restrict(*args, scratch)
            self._prolong_add = lambda *args: prolong(*args, scratch)
        self.compiled = self._compiled()
        self.single = None  # v_cycle_single's arguments: level 0 in float32 (small images)
        three = len(levels[0].shape) == 3  # 2-D: the float32 operator is no faster (64^2)
        if (
            self.compiled is not None
            and self.scratch is not None
            and fine_dtype == np.float32
            and three
        ):
            nodes = self.work[0][3].size
            k, table, modes, offset = levels[0].operator
            k = k if table is not None else k.astype(np.float32)
            table = None if table is None else table.astype(np.float32)
            # float32 b and x in the two halves of the float64 A x (used by the compiled
            # float64 cycle only, never in the same call): half a field more, for A x in float32
            halves = self.work[0][3].view(np.float32)
            fields = (halves[:nodes], halves[nodes:], np.empty(nodes, np.float32))
            operator = (k, table, modes.astype(np.float32), offset.astype(np.float32))
            self.single = fields + operator + self.compiled[5:]

    def _compiled(self) -> tuple | None:
        """The arguments of `v_cycle` after ``b, x`` where it serves (a V-cycle on level 0
        as fields, one sweep there, degree >= 2 below, a Cholesky factor on the coarsest of
        at least three levels, float64 on level 0), else None (the interpreted `_cycle`).
        """
        levels = self.levels
        coarsest = levels[-1].coarsest
        if (
            self.gamma != 1
            or self.slabs is not None
            or len(levels) < 3
            or self.degrees[0] != 1
            or min(self.degrees[1:-1]) < 2
            or not hasattr(coarsest, "factor")
            or any(level.apply.coefficients is None for level in levels[1:-1])
        ):
            return None
        ndim = len(levels[0].shape)

        def transfer(taps: tuple) -> tuple:  # three axes (a dummy third in 2-D)
            return taps if ndim == 3 else taps + (np.zeros((1, 3), np.int64), np.zeros((1, 3)))

        intervals = [_interval(level.upper) for level in levels]
        work = self.work[1:-1]
        return (
            self.work[0][3],
            *levels[0].operator,
            tuple(level.inverse_diagonal for level in levels[:-1]),
            np.array([theta for theta, _ in intervals]),
            np.array([delta for _, delta in intervals]),
            np.array(self.degrees, dtype=np.int64),
            np.array([level.shape for level in levels], dtype=np.int64),
            tuple(level.apply.coefficients for level in levels[1:-1]),
            tuple(level.apply.padded for level in levels[1:-1]),
            tuple(w[0] for w in work),
            tuple(w[1] for w in work),
            tuple(w[2] for w in work),
            tuple(w[3] for w in work),
            self.work[-1][0],
            self.work[-1][1],
            tuple(transfer(level.restriction) for level in levels[1:]),
            tuple(transfer(level.prolongation) for level in levels[1:]),
            coarsest.factor,
            coarsest.indices,
        ) + (() if self.scratch is None else (self.scratch,))

    def _unused(self, index: int, slot: int) -> bool:
        """Whether work array `slot` (b, x, d, q) of level `index` is never touched."""
        if index == 0 and slot in (0, 1):  # the caller's
            return True
        if slot == 2 and self.degrees[index] == 1:  # one sweep: no recurrence
            return True
        if self.levels[index].coarsest is not None and slot in (2, 3):  # solved directly
            return True
        return index == 0 and slot == 3 and self.slabs is not None

    def _smooth(self, index: int, b: np.ndarray, x: np.ndarray, zero: bool) -> None:
        """``x += S (b - A x)`` (``x = S b`` if `zero`: `x` is not read) on level `index`:
        ``degree`` steps of the Chebyshev iteration on ``A x = b``.
        """
        level = self.levels[index]
        degree = self.degrees[index]
        d, q = self.work[index][2], self.work[index][3]
        theta, delta = _interval(level.upper)
        sigma = theta / delta
        rho = 1.0 / sigma
        if index == 0 and self.slabs is not None:  # one sweep, the diagonal from the labels
            if zero:
                self.slabs.scale(x, b, 1.0 / theta)
            else:
                self.slabs.jacobi(x, b, 1.0 / theta)
            return
        if zero:
            chebyshev_first(x, x if d is None else d, b, level.inverse_diagonal, 1.0 / theta)
        else:
            level.apply(x, q)
            if d is None:
                jacobi_add(x, b, q, level.inverse_diagonal, 1.0 / theta)
                return
            chebyshev_residual(x, d, b, q, level.inverse_diagonal, 0.0, 1.0 / theta)
        for _ in range(1, degree):
            level.apply(x, q)
            rho_next = 1.0 / (2.0 * sigma - rho)
            keep, scale = rho_next * rho, 2.0 * rho_next / delta
            chebyshev_residual(x, d, b, q, level.inverse_diagonal, keep, scale)
            rho = rho_next

    def _correction(self, index: int) -> None:
        """``x = B_gamma b`` on level `index` (its own ``b`` and ``x``; `gamma` cycles, the
        later ones from the result of the one before).
        """
        b, x = self.work[index][0], self.work[index][1]
        level = self.levels[index]
        if level.coarsest is not None:  # exact: a second pass would add nothing
            level.coarsest(b, x)
            return
        for cycle in range(self.gamma):
            self._cycle(index, b, x, zero=cycle == 0)

    def _cycle(self, index: int, b: np.ndarray, x: np.ndarray, zero: bool = True) -> None:
        level = self.levels[index]
        if level.coarsest is not None:
            level.coarsest(b, x)
            return
        below = self.levels[index + 1]
        shape, coarse = level.shape, below.shape
        coarse_b, coarse_x = self.work[index + 1][0], self.work[index + 1][1]
        self._smooth(index, b, x, zero)  # x += S (b - A x)
        if index == 0 and self.slabs is not None:  # A x formed a slab at a time
            self.slabs.restrict(b, x, coarse_b.reshape(coarse), below.restriction)
        else:
            q = self.work[index][3]
            level.apply(x, q)
            self._restrict(
                b.reshape(shape), q.reshape(shape), coarse_b.reshape(coarse), *below.restriction
            )
        self._correction(index + 1)
        self._prolong_add(coarse_x.reshape(coarse), x.reshape(shape), *below.prolongation)
        self._smooth(index, b, x, zero=False)  # x += S (b - A x)

    def __call__(self, r: np.ndarray, out: np.ndarray) -> None:
        """Write one cycle's approximation of ``A^-1 r`` into `out` (the preconditioner)."""
        if self.single is not None and r.dtype == np.float64:
            v_cycle_single(r.reshape(-1), out.reshape(-1), *self.single)
            return
        if self.compiled is not None and r.dtype == np.float64:  # (single precision: float32)
            run = v_cycle if self.scratch is None else v_cycle_small
            run(r.reshape(-1), out.reshape(-1), *self.compiled)
            return
        self._cycle(0, r.reshape(-1), out.reshape(-1))


class _Slabs:
    """The Q1 operator of level 0 (3-D) applied a slab of `ROWS` node planes (axis 0) at a
    time, into buffers of a few planes, where the restriction and the Jacobi sweep read it,
    and its inverse diagonal made from the conductivities (or labels) where it is read: no
    field of the image is stored.

    A slab of node planes ``[a, b)`` reads the nodes ``a - 1 .. b`` and the voxels ``a - 1
    .. b - 1`` (wrapped on a periodic axis 0, cut at the ends of an open one), copied into
    buffers that `nodal_flux_3d` sees as a grid open along axis 0: its planes ``a .. b - 1``
    are those of the whole grid (one voxel plane more per slab: ``1 / ROWS`` more work).
    `held` lists the ``(axis, end)`` node faces whose inverse diagonal is 0 (the ends of
    the Dirichlet axes; ``boundary_value`` adds its held faces).
    """

    def __init__(self, values, table, modes, kinds, nodes, corner: float) -> None:
        self.values, self.table, self.modes = values, table, modes
        self.periodic = kinds[0] == "periodic"
        self.nodes = nodes
        self.corner = float(corner)
        dirichlet = [axis for axis, kind in enumerate(kinds) if kind == "dirichlet"]
        self.held = [(axis, end) for axis in dirichlet for end in (0, -1)]
        rows = min(ROWS, nodes[0])
        self.x = np.empty((rows + 2,) + nodes[1:])
        self.q = np.empty((rows + 2,) + nodes[1:])
        self.inverse = np.empty((rows,) + nodes[1:])
        self.labels = np.empty((rows + 1,) + values.shape[1:], values.dtype)
        self.before = np.empty(nodes[1:])  # the old plane a - 1 (in-place sweep)
        self.first = np.empty(nodes[1:])  # the old plane 0 (periodic: read by the last slab)
        self.offset = np.zeros(8)
        self.rows = rows
        self.targets = None

    def _slabs(self):
        """Per slab ``(a, b, start, nodes, voxels)``: its node planes ``[a, b)``, the index
        of plane ``a`` in the buffers, and the node and voxel planes the buffers hold.
        """
        m0 = self.nodes[0]
        for a in range(0, m0, self.rows):
            b = min(a + self.rows, m0)
            if self.periodic:
                nodes = np.arange(a - 1, b + 1) % m0
            else:
                nodes = np.arange(max(a - 1, 0), min(b + 1, m0))
            yield a, b, 1 if self.periodic else a - int(nodes[0]), nodes, nodes[:-1]

    def _labels(self, voxels: np.ndarray) -> np.ndarray:
        labels = self.labels[: len(voxels)]
        for row, voxel in enumerate(voxels):
            labels[row] = self.values[voxel]
        return labels

    def _flux(self, x, nodes, labels, before=None, after=None):
        """``A x`` on the buffers of one slab (`before`, `after`: the planes read below and
        above the slab in place of those of `x`); returns the flux buffer.
        """
        u = self.x[: len(nodes)]
        for row, node in enumerate(nodes):  # a plane at a time: x may be float32
            u[row] = x[node]
        if before is not None:
            u[0] = before
        if after is not None:
            u[-1] = after
        q = self.q[: len(nodes)]
        nodal_flux_3d(u, self.offset, labels, self.modes, q, self.table)
        return q

    def _inverse(self, labels, a: int, b: int, start: int) -> np.ndarray:
        """The inverse diagonal of node planes ``[a, b)`` (flat), 0 on the held faces."""
        out = self.inverse[: b - a]
        inverse_diagonal_planes(labels, start, self.corner, out, self.table)
        for axis, end in self.held:
            if axis > 0:
                out[face_slice(axis, end, 3)] = 0.0
            elif a <= end % self.nodes[0] < b:
                out[end % self.nodes[0] - a] = 0.0
        return out.reshape(-1)

    def field(self) -> np.ndarray:
        """The inverse diagonal of the whole grid (flat, float32), for a smoother that
        reads it as an array (level 0 at degree 2 or more).
        """
        out = np.empty(self.nodes, dtype=np.float32)
        for a, b, start, _, voxels in self._slabs():
            out[a:b] = self._inverse(self._labels(voxels), a, b, start).reshape(
                (b - a,) + self.nodes[1:]
            )
        return out.reshape(-1)

    def scale(self, x, b, scale) -> None:
        """``x = scale * b / diag`` (the first Jacobi sweep, from ``x = 0``)."""
        x, b = x.reshape(self.nodes), b.reshape(self.nodes)
        for a, b_end, start, _, voxels in self._slabs():
            inverse = self._inverse(self._labels(voxels), a, b_end, start)
            part = x[a:b_end].reshape(-1)
            chebyshev_first(part, part, b[a:b_end].reshape(-1), inverse, scale)

    def restrict(self, b, x, coarse, restriction) -> None:
        """``coarse = R (b - A x)`` (`restriction`: the taps and weights of every axis)."""
        b, x = b.reshape(self.nodes), x.reshape(self.nodes)
        taps0, weights0, taps1, weights1, taps2, weights2 = restriction
        if self.targets is None or self.targets[0] is not taps0:
            self.targets = (taps0,) + _plane_targets(taps0, weights0, self.nodes[0])
        _, targets, weights = self.targets
        plane = np.empty(coarse.shape[1:])
        coarse[...] = 0.0
        for a, b_end, start, nodes, voxels in self._slabs():
            q = self._flux(x, nodes, self._labels(voxels))
            restrict_planes_3d(
                b[a:b_end],
                q[start : start + b_end - a],
                coarse,
                targets[a:b_end],
                weights[a:b_end],
                taps1,
                weights1,
                taps2,
                weights2,
                plane,
            )

    def jacobi(self, x, b, scale) -> None:
        """In place: ``x += scale * (b - A x) / diag`` (one damped Jacobi sweep)."""
        x, b = x.reshape(self.nodes), b.reshape(self.nodes)
        if self.periodic:
            self.first[...] = x[0]
        for a, b_end, start, nodes, voxels in self._slabs():
            before = self.before if a > 0 else None
            after = self.first if self.periodic and b_end == self.nodes[0] else None
            labels = self._labels(voxels)
            q = self._flux(x, nodes, labels, before, after)
            self.before[...] = x[b_end - 1]
            jacobi_add(
                x[a:b_end].reshape(-1),
                b[a:b_end].reshape(-1),
                q[start : start + b_end - a].reshape(-1),
                self._inverse(labels, a, b_end, start),
                scale,
            )


def _plane_targets(taps: np.ndarray, weights: np.ndarray, fine: int) -> tuple:
    """Per fine node plane, the (at most two) coarse planes it restricts to and their
    weights (weight 0: none), from the gathering taps of ``restriction_taps``.
    """
    targets = np.zeros((fine, 2), dtype=np.int64)
    out = np.zeros((fine, 2))
    count = np.zeros(fine, dtype=np.int64)
    for i in range(taps.shape[0]):  # in coarse order: each fine plane's targets ascend
        for a in range(taps.shape[1]):
            if weights[i, a] != 0.0:
                f = taps[i, a]
                targets[f, count[f]] = i
                out[f, count[f]] = weights[i, a]
                count[f] += 1
    return targets, out


def cycle_gamma(k: np.ndarray, voids: bool) -> int:
    """Coarse cycles per correction for the conductivities `k`: 1 (a V-cycle) on small
    images without voids of moderate contrast (`V_CYCLE_LARGEST`, `V_CYCLE_CONTRAST`),
    ``GAMMA`` (a W-cycle) elsewhere.
    """
    if voids or k.size > V_CYCLE_LARGEST:
        return GAMMA
    return 1 if float(k.max()) <= V_CYCLE_CONTRAST * float(k.min()) else GAMMA


def multigrid(
    k: np.ndarray,
    spacing: float | np.ndarray,
    kinds: tuple[str, ...] | None = None,
    *,
    voids: bool,
    dtype: type = np.float64,
    fine_dtype: type = FINE_DTYPE,
) -> Operator:
    """Return ``apply(r, out)``, the multigrid preconditioner of the Q1 operator.

    A `Cycle` with the smoother degrees ``DEGREE`` and ``FINE_DEGREE`` and
    ``cycle_gamma`` coarse cycles per correction (a V-cycle on small images of moderate
    contrast without voids, a W-cycle elsewhere).

    Parameters
    ----------
    k : ndarray of shape (N0, N1[, N2]), float64, or Phases
        Voxel conductivities, >= 0 (see `supported` for the shapes); or the labels
        and the table of the phases (see `hierarchy`).
    spacing : float or ndarray of shape (d,)
        Voxel edges ``h_i`` per axis (one number: cubic voxels).
    kinds : tuple of {"periodic", "neumann", "dirichlet"}, optional
        Boundary kind per axis (``_q1.Q1Grid``); every axis periodic by
        default.
    voids : bool
        Whether `k` has zeros. Without voids and without a Dirichlet axis
        the mean of ``out`` is removed (the null space of the periodic and
        of the Neumann operator); with voids the caller projects
        (``_clusters.projector``) where clusters float.
    dtype : numpy dtype, default float64
        Of the cycle's work arrays: float32 under ``precision="single"`` (`r`
        and `out` are float32 then) and on the coarse levels of 3-D double solves.
    fine_dtype : numpy dtype, default ``FINE_DTYPE``
        Of level 0 of the compiled cycle of small 3-D images (`v_cycle_single` where
        float32) for float64 `r`; float64 where `r` is float32 (``precision="single"``:
        the float32 fields of `v_cycle_single` would go unused).

    Returns
    -------
    callable
        ``apply(r, out)`` with `r`, `out` float64 (or `dtype`) C-contiguous nodal fields
        (``Q1Grid.shape``); ``out = B r``, ``B`` symmetric positive
        semi-definite, zero on the fixed nodes (with its mean removed:
        ``Pi B Pi`` for ``r`` of zero mean).
    """
    kinds = ("periodic",) * k.ndim if kinds is None else tuple(kinds)
    levels = hierarchy(k, spacing, kinds)
    gamma = cycle_gamma(k, voids)
    cycle = Cycle(levels, DEGREE, FINE_DEGREE, gamma, dtype=dtype, fine_dtype=fine_dtype)
    constants = not voids and "dirichlet" not in kinds

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        cycle(r, out)
        if constants:
            out -= out.mean()

    return apply

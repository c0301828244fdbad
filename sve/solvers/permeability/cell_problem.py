"""The Stokes cell problems behind `apparent_permeability` (private).

One load setup (periodic body force, or a pressure drop along one axis) is one
`StokesOperator` and one block-diagonal preconditioner: an aggregation multigrid
W-cycle per velocity component (``multigrid``) and the identity over the viscosity
on the fluid cells for the pressure Schur complement (its spectral equivalent on an
inf-sup stable discretization; Silvester & Wathen 1994) plus a multigrid cycle of the
face-conductance operator ``B K B^T`` for the Darcy scale, with the mean pressure of
every floating fluid cluster projected out under periodic conditions (its coarse
levels are visited by four Chebyshev steps, ``PRESSURE_GAMMA``, and its finest cycle
is a Chebyshev polynomial of degree ``PRESSURE_DEGREE``: a fixed linear operator
with bounds estimated at setup, ``multigrid``). MINRES
(``minres``) solves the symmetric indefinite system.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

import numpy as np

from sve.solvers._core.chebyshev_kernels import chebyshev_first
from sve.solvers._core.clusters import find_clusters, projector
from sve.solvers._core.pcg_kernels import axpy, dot
from sve.solvers.permeability.mac import Stencil, StokesOperator, SumStencil
from sve.solvers.permeability.mac_kernels import (
    add_compact,
    add_fluid,
    chebyshev_last_gather,
    gather_mask,
    scatter_mask,
)
from sve.solvers.permeability.minres import minres
from sve.solvers.permeability.multigrid import AggregationMultigrid

#: Weight of the Darcy-scale part ``(B K B^T)^-1`` of the pressure block (see
#: `conductance_stencil`); 1 measured best among 0.5, 1 and 2 (32^3 and 64^3 level cuts).
DARCY_SCALE = 1.0
#: Coarse-level visits of the pressure multigrid (``multigrid``; 2 is a W-cycle): with 2
#: the MINRES iterations per load case grew from 49 at 32^3 to 74 at 128^3 on the level
#: cut of ``benchmarks/bench_permeability.py``, with 4 they stay at 49-56 up to 128^3
#: (but reach 76 at 256^3: the cycle still degrades on the coarse levels; hence the
#: Chebyshev steps below, with which 256^3 takes 58).
PRESSURE_GAMMA = 4
#: Whether the pressure multigrid's coarse visits are Chebyshev steps (a fixed polynomial
#: of the coarse cycle, bounds estimated at setup) instead of stationary iterations.
PRESSURE_CHEBYSHEV = True
#: Degree of the Chebyshev polynomial of the pressure multigrid's finest cycle (1: one
#: cycle). 2: MINRES iterations of the first periodic load case of the benchmark's level
#: cut 49, 54, 54, 54, 58 at 32^3, 64^3, 96^3, 128^3, 256^3 (with the Chebyshev coarse
#: steps; the 256^3 pressure cycle alone still has factor 0.80, CG 19 iterations, with
#: degree 1).
PRESSURE_DEGREE = 2
#: Whether the pressure block's stencil ``B K B^T`` and its coarse levels are stored in
#: float32 (the coefficients rounded: the preconditioner changes, not the operator;
#: MINRES iterations unchanged at 32^3 and 48^3 on the benchmark's level cut).
PRESSURE_SINGLE = True
#: Whether the periodic pressure block keeps no diagonal (`mac.SumStencil`: its kernels
#: sum the couplings where they read it; mixed conditions keep the diagonal, whose
#: inlet and outlet faces add to it).
PRESSURE_SUM = True
#: Relative residual (preconditioner norm) of the conductance solves ``A k = 1``.
CONDUCTANCE_TOL = 1e-4
#: Largest number of CG iterations of one conductance solve.
CONDUCTANCE_MAXITER = 200


def face_conductance(stencil: Stencil, active: np.ndarray, multigrid) -> np.ndarray:
    """``k = A^-1 1`` on the active faces of one component, by CG preconditioned with its
    multigrid cycle (to ``CONDUCTANCE_TOL``), clipped at 0: the row sums of ``A^-1``,
    the velocity a unit body force drives when the pressure is left out.
    """
    b = active.astype(float)
    x = np.zeros_like(b)
    r = b.copy()
    z = np.empty_like(b)
    ap = np.empty_like(b)
    multigrid.apply(r, z)
    p = z.copy()
    rz = float(dot(r.reshape(-1), z.reshape(-1)))
    start = rz
    for _ in range(CONDUCTANCE_MAXITER):
        if rz <= 0.0 or rz <= CONDUCTANCE_TOL**2 * start:
            break
        stencil.apply(p, ap)
        alpha = rz / float(dot(p.reshape(-1), ap.reshape(-1)))
        axpy(alpha, p.reshape(-1), x.reshape(-1))
        axpy(-alpha, ap.reshape(-1), r.reshape(-1))
        multigrid.apply(r, z)
        new = float(dot(r.reshape(-1), z.reshape(-1)))
        p *= new / rz
        p += z
        rz = new
    return np.where(active, np.maximum(x, 0.0), 0.0)


def pressure_stencil(
    operator: StokesOperator, conductances: list[np.ndarray], dtype: type = np.float64
) -> Stencil | SumStencil:
    """The cell stencil of ``B K B^T``, ``K`` the diagonal of face conductances
    (`face_conductance`, one array per component on its face grid): two cells sharing
    an active face of component ``c`` couple with ``k_face / h_c^2``; an inlet or
    outlet face adds that to its one cell's diagonal.

    ``K = diag(A^-1 1)`` lumps ``A^-1`` (rows summed; ``A^-1`` is entrywise
    non-negative), so ``B K B^T`` bounds the Schur complement ``B A^-1 B^T`` from
    above and equals it for a flow that keeps its direction over a pore (a straight
    channel): a pore-network (Darcy) operator with each face's own conductance.
    """
    shape = operator.fluid.shape
    summed = PRESSURE_SUM and all(comp.shift == 0 for comp in operator.components)
    diag = None if summed else np.zeros(shape)
    ws = [np.zeros(shape, dtype=dtype) for _ in range(3)]
    for comp, k in zip(operator.components, conductances, strict=True):
        c = comp.axis
        g = k / operator.h[c] ** 2
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
            if not summed:
                diag += w + np.roll(w, 1, axis=c)
        ws[c] = np.ascontiguousarray(w, dtype=dtype)  # rounded (float32) as it is made
        del w
    if summed:
        return SumStencil(tuple(ws))
    return Stencil(diag.astype(dtype, copy=False), tuple(ws))


class BlockPreconditioner:
    """``diag(MG_0, ..., MG_{d-1}, I_fluid + w MG_p)`` with the floating pressure means
    removed, ``MG_p`` a multigrid cycle of ``B K B^T`` (`pressure_stencil`) with
    `PRESSURE_GAMMA` coarse visits per level.
    """

    def __init__(
        self, operator: StokesOperator, *, project_pressure: bool, darcy: float | None = None
    ) -> None:
        self.operator = operator
        workspace: dict = {}  # the work arrays, shared: one cycle runs at a time
        # the largest grid first (the load component under mixed conditions), so that
        # every hierarchy's work arrays are views of the first one's
        order = sorted(operator.components, key=lambda c: -c.size)
        built = {c.axis: AggregationMultigrid(c.stencil, workspace=workspace) for c in order}
        self.multigrids = [built[c.axis] for c in operator.components]
        self.fluid = operator.fluid
        self.darcy = DARCY_SCALE if darcy is None else darcy
        self.pressure_multigrid = None
        if self.darcy > 0.0:
            conductances = [
                face_conductance(c.stencil, c.active, mg)
                for c, mg in zip(operator.components, self.multigrids, strict=True)
            ]
            dtype = np.float32 if PRESSURE_SINGLE else np.float64
            stencil = pressure_stencil(operator, conductances, dtype)
            del conductances
            self.pressure_multigrid = AggregationMultigrid(
                stencil,
                gamma=PRESSURE_GAMMA,
                workspace=workspace,
                chebyshev=PRESSURE_CHEBYSHEV,
                degree=PRESSURE_DEGREE,
                single=PRESSURE_SINGLE,
            )
        # the work grids of the compact operator and of this preconditioner, after the
        # setup's transient arrays are gone (the operator and the cycles never run at the
        # same time): two. The pressure polynomial of degree 2 (`_pressure_compact`)
        # writes its residual ``r2 = b - A x`` over its right-hand side ``b`` (grid 0),
        # which nothing reads after it, and both its cycles into grid 1, its iterate kept
        # on the unknowns in between; its own ``y`` is made for `__call__` alone
        operator.allocate_work(2)
        if self.pressure_multigrid is not None and self.pressure_multigrid.degree == 2:
            top = self.pressure_multigrid.levels[0]
            top.r2 = operator.grid(0, top.shape)
            top.y = None
        self.project = None  # the full vectors' projection (`__call__`), made when first used
        self.project_compact = None
        self.project_pressure = project_pressure
        if project_pressure:
            labels, floating = self._labels()
            # the compact pressure's labels: the fluid cells' alone, in the narrowest type
            narrow = labels[operator.fluid].astype(_label_dtype(floating.size))
            del labels
            self.project_compact = projector(narrow, floating)

    def _labels(self) -> tuple[np.ndarray, np.ndarray]:
        """The cluster labels of the fluid cells (int32 while they fit) and the floating
        flags (every cluster).
        """
        clusters = find_clusters(self.operator.fluid, periodic=True, discretization="fv")
        return clusters.labels, np.ones(clusters.count, dtype=bool)

    def __call__(self, r: np.ndarray, z: np.ndarray) -> None:
        """``z = M^-1 r`` on full vectors."""
        op = self.operator
        for comp, mg in zip(op.components, self.multigrids, strict=True):
            mg.apply(op.velocity(r, comp.axis), op.velocity(z, comp.axis))
        q = op.pressure(z)
        if self.pressure_multigrid is not None:
            top = self.pressure_multigrid.levels[0]
            if self.pressure_multigrid.degree == 2 and top.y is None:
                top.y = np.empty(top.shape)  # the full vectors' way (tests) only
            # q = r on the fluid + darcy MG_p r, with MG_p r written into q itself
            self.pressure_multigrid.apply(op.pressure(r), q)
            add_fluid(
                q.reshape(-1), op.pressure(r).reshape(-1), self.fluid.reshape(-1), self.darcy
            )
        else:
            np.multiply(op.pressure(r), self.fluid, out=q)
        if self.project_pressure:
            if self.project is None:
                self.project = projector(*self._labels())
            self.project(q)

    def compact(self, r: np.ndarray, z: np.ndarray) -> None:
        """``z = M^-1 r`` on compact vectors (the bits of `__call__` on the unknowns),
        each block through work grids 0 (input) and 1 (output); work grid 0 is
        overwritten by the pressure cycle.
        """
        op = self.operator
        for comp, mg in zip(op.components, self.multigrids, strict=True):
            b = op.grid(0, comp.shape)
            x = op.grid(1, comp.shape)
            mask = op.mask(comp.axis)
            scatter_mask(op.segment(r, comp.axis), *mask, b.reshape(-1))
            mg.apply(b, x)
            gather_mask(x.reshape(-1), *mask, op.segment(z, comp.axis), 0.0, False)
        rp = op.segment(r, None)
        zp = op.segment(z, None)
        if self.pressure_multigrid is not None:
            b = op.grid(0, self.fluid.shape)
            q = op.grid(1, self.fluid.shape)
            mask = op.mask(None)
            scatter_mask(rp, *mask, b.reshape(-1))
            if self.pressure_multigrid.degree == 2:
                self._pressure_compact(b, q, zp)
            else:
                self.pressure_multigrid.apply(b, q)
                gather_mask(q.reshape(-1), *mask, zp, 0.0, False)
            add_compact(zp, rp, self.darcy)  # zp = rp + darcy zp: `add_fluid` on the fluid
        else:
            np.multiply(rp, 1.0, out=zp)
        if self.project_compact is not None:
            self.project_compact(zp)

    def _pressure_compact(self, b: np.ndarray, q: np.ndarray, zp: np.ndarray) -> None:
        """``zp = MG_p b`` on the fluid cells, the pressure polynomial of degree 2
        (``_core.chebyshev.polynomial``, the same arithmetic) through two grids: `b`
        (overwritten by its residual) and `q`, which holds the first cycle's output and
        iterate, then the second cycle's output, the iterate kept in `zp` meanwhile.
        """
        mg = self.pressure_multigrid
        low, high = mg.bounds[0]
        theta = 0.5 * (high + low)
        delta = 0.5 * (high - low)
        sigma = theta / delta
        mask = self.operator.mask(None)
        mg._cycle(0, b, q)  # y = B b
        chebyshev_first(q, q, q, 1.0 / theta)  # x = y / theta, in place
        gather_mask(q.reshape(-1), *mask, zp, 0.0, False)
        mg.levels[0].stencil.residual(q, b, b)  # r = b - A x, over b
        mg._cycle(0, b, q)  # y = B r
        rho = 1.0 / sigma
        following = 1.0 / (2.0 * sigma - rho)
        chebyshev_last_gather(q.reshape(-1), *mask, zp, following * rho, 2.0 * following / delta)


def _label_dtype(count: int) -> type:
    """The narrowest signed integer type that holds the labels ``0 .. count - 1``."""
    for dtype in (np.int8, np.int16, np.int32):
        if count <= np.iinfo(dtype).max + 1:
            return dtype
    return np.int64


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Hand the allocator's free pages back to the system (glibc's ``malloc_trim``; a
    no-op elsewhere). The arrays of the setup's transients (16 MB at 128^3: under
    glibc's dynamic mmap threshold, so on its heap) would otherwise stay resident as
    holes that the larger compact MINRES vectors do not fit: 26 bytes per voxel of
    peak resident growth at 128^3 above the arrays alive.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def solve_cases(
    operator: StokesOperator,
    loads: list[Callable[[], np.ndarray]],
    finish: Callable[[int, np.ndarray, int, float], None],
    *,
    periodic: bool,
    tol: float,
    maxiter: int,
) -> None:
    """Solve ``K x = b`` with MINRES for the compact right-hand side ``b = load()`` of
    every load of `loads`, one at a time (each ``b`` is built just before its solve and
    consumed by it), and hand each compact solution to ``finish(index, x, iterations,
    relative residual)`` as soon as it is found, while the operator's work grids live
    (`mac.StokesOperator.mean_velocity_compact` and the others use them); no solution
    is kept after its `finish`.
    """
    preconditioner = BlockPreconditioner(operator, project_pressure=periodic)
    release_free_memory()
    try:
        for index, load in enumerate(loads):
            x, count, relative = minres(
                operator.apply_compact, preconditioner.compact, load(), tol=tol, maxiter=maxiter
            )
            finish(index, x, count, relative)
            del x
            release_free_memory()
    finally:
        operator.work = None
        del preconditioner


def body_force(operator: StokesOperator, axis: int) -> np.ndarray:
    """Right-hand side of a unit body force along `axis` on the active faces."""
    b = np.zeros(operator.size)
    comp = operator.components[axis]
    operator.velocity(b, axis)[...] = comp.active
    return b


def body_force_compact(operator: StokesOperator, axis: int) -> np.ndarray:
    """`body_force` on the unknowns (a compact vector)."""
    b = np.zeros(operator.compact_size)
    operator.segment(b, axis)[...] = 1.0
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


def pressure_drop_compact(operator: StokesOperator, axis: int, drop: float) -> np.ndarray:
    """`pressure_drop` on the unknowns (a compact vector)."""
    b = np.zeros(operator.compact_size)
    comp = operator.components[axis]
    u = operator.grid(0, comp.shape)
    u[...] = 0.0
    index = [slice(None)] * 3
    index[axis] = 0
    u[tuple(index)] = comp.active[tuple(index)] * (drop / operator.h[axis])
    gather_mask(u.reshape(-1), *operator.mask(axis), operator.segment(b, axis), 0.0, False)
    return b

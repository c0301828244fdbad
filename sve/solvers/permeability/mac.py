"""The staggered (MAC) finite-volume Stokes operator on a voxel pore space (private).

Layout
------
Pressures live in the cells (voxels), velocity component ``c`` on the faces normal to
axis ``c``. Periodic axes: face ``f`` of component ``c`` lies between the cells ``f``
and ``f + e_c`` (wrapped), ``shift = 0``. Under mixed conditions the load axis ``a``
has ``n_a + 1`` faces of component ``a``, face ``f`` between the cells ``f - 1`` and
``f`` (``shift = 1``), the inlet face ``0`` and the outlet face ``n_a`` included; the
other components keep ``n_c`` faces, the last one (on the side wall) inactive.

A face is *active* (an unknown) when both its cells are fluid (a boundary face of the
load axis: when its one cell is fluid). Every other face carries zero normal velocity:
no slip and no penetration on every solid voxel face.

Viscous operator
----------------
Component ``c`` satisfies ``-mu lap u_c + d_c p = f_c``; its finite-volume Laplacian
is a 7-point stencil (``mac_kernels``). Along its own axis the neighbour face is an
unknown or a wall at distance ``h`` (coefficient ``1 / h^2`` each side). Across, the
neighbour face of a tangential direction ``b`` is an unknown, or the wall lies half a
cell away: the ghost value ``-u`` (no slip) doubles the diagonal term, ``2 / h_b^2``.
Outside the domain (mixed): side walls are no slip (the same ghost) or free slip
(ghost ``+u``: no term); the inlet and outlet planes have zero normal derivative. The
inlet and outlet faces of the load component own half a control volume, so their
tangential terms are halved; with that weighting the operator is symmetric and the
pressure gradient ``B^T`` is the transpose of minus the divergence ``B`` (the
boundary pressures move to the right-hand side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sve.solvers._core.pcg_kernels import dot
from sve.solvers.permeability.mac_kernels import (
    coarse_stencil,
    coarse_stencil_coded,
    coarse_stencil_sum,
    code_rows,
    divergence_add,
    gather_mask,
    gauss_seidel,
    gauss_seidel_coded,
    gauss_seidel_sum,
    gradient_add,
    residual_restrict,
    residual_restrict_coded,
    residual_restrict_sum,
    scatter_mask,
    stencil_apply,
    stencil_apply_coded,
    stencil_apply_sum,
    stencil_residual,
    stencil_residual_coded,
    stencil_residual_sum,
)


def index_dtype(size: int) -> type:
    """int32 for indices into a vector of `size` entries while they fit, else int64."""
    return np.int32 if size <= np.iinfo(np.int32).max + 1 else np.int64


class _Kernels:
    """The operations of a 7-point stencil, for the three ways one is stored: each
    subclass gives `kernel`, the arrays its kernels of ``mac_kernels`` take first, and
    `KERNELS`, those kernels (apply, residual, residual_restrict, gauss_seidel,
    coarse_stencil). One set of kernels per kind: a kernel written once for the three,
    reading a point's coefficients through a Numba overload, gave the same bits but took
    1.3 to 1.9 times as long to apply or form the residual (96^3, serial; the compiler
    stops vectorizing the loop), so the kernels stay apart.
    """

    kernel: tuple
    KERNELS: tuple

    def apply(self, x: np.ndarray, y: np.ndarray) -> None:
        """``y = A x``."""
        self.KERNELS[0](*self.kernel, x, y)

    def residual(self, x: np.ndarray, b: np.ndarray, r: np.ndarray) -> None:
        """``r = b - A x``."""
        self.KERNELS[1](*self.kernel, x, b, r)

    def residual_restrict(
        self, x: np.ndarray, b: np.ndarray, coarse: np.ndarray, factors: tuple[int, ...]
    ) -> None:
        """``coarse = P^T (b - A x)``, aggregation by `factors`, with no fine residual
        stored (the bits of `residual` and ``mac_kernels.restrict``).
        """
        self.KERNELS[2](*self.kernel, x, b, coarse, *factors)

    def smooth(self, b: np.ndarray, x: np.ndarray, forward: bool) -> None:
        """One Gauss-Seidel sweep on ``A x = b`` in place."""
        self.KERNELS[3](*self.kernel, b, x, forward)

    def coarsen(self, factors: tuple[int, ...], shape: tuple[int, ...]) -> Stencil:
        """The Galerkin operator of aggregation by `factors` (float64 arrays of `shape`)."""
        diag = np.zeros(shape)
        ws = tuple(np.zeros(shape) for _ in range(3))
        self.KERNELS[4](*self.kernel, *factors, diag, *ws)
        return Stencil(diag, ws)


@dataclass
class Stencil(_Kernels):
    """A 7-point stencil on a 3-D grid (``mac_kernels``): four arrays, float64 or
    float32 alike.
    """

    diag: np.ndarray
    w: tuple[np.ndarray, np.ndarray, np.ndarray]
    KERNELS = (stencil_apply, stencil_residual, residual_restrict, gauss_seidel, coarse_stencil)

    @property
    def kernel(self) -> tuple:
        """``(diag, w0, w1, w2)``."""
        return (self.diag, *self.w)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape."""
        return self.diag.shape

    def arrays(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(diag, (w0, w1, w2))``."""
        return self.diag, self.w


@dataclass
class CodedStencil(_Kernels):
    """A 7-point stencil stored as one code per point (uint8, or uint16: `stored`) into a
    table of the rows ``(diag, w0, w1, w2)`` that occur (float64): the same
    coefficients, bit for bit, in one byte per point when at most 256 rows differ (the
    viscous stencils: their coefficients depend only on which neighbouring faces are
    active), two when at most `WIDE_CODES` do (their first coarse levels).
    """

    code: np.ndarray
    table: np.ndarray
    KERNELS = (
        stencil_apply_coded,
        stencil_residual_coded,
        residual_restrict_coded,
        gauss_seidel_coded,
        coarse_stencil_coded,
    )

    def __post_init__(self) -> None:
        self.columns = tuple(np.ascontiguousarray(self.table[:, i]) for i in range(4))

    @property
    def kernel(self) -> tuple:
        """``(code, diag column, w0 column, w1 column, w2 column)``."""
        return (self.code, *self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape."""
        return self.code.shape

    def arrays(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(diag, (w0, w1, w2))`` as float64 arrays (made on each call)."""
        rows = self.table[self.code]
        return rows[..., 0], (rows[..., 1], rows[..., 2], rows[..., 3])


@dataclass
class SumStencil(_Kernels):
    """A 7-point stencil whose diagonal is the sum of its point's couplings (a
    Laplacian with zero row sums: the periodic pressure block's ``B K B^T``), stored as
    the three coupling arrays alone; the kernels form the diagonal where they read it
    (``mac_kernels._sum_diag``, in float64).
    """

    w: tuple[np.ndarray, np.ndarray, np.ndarray]
    KERNELS = (
        stencil_apply_sum,
        stencil_residual_sum,
        residual_restrict_sum,
        gauss_seidel_sum,
        coarse_stencil_sum,
    )

    @property
    def kernel(self) -> tuple:
        """``(w0, w1, w2)``."""
        return tuple(self.w)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape."""
        return self.w[0].shape


#: Largest number of distinct rows a `CodedStencil` takes (uint8 codes).
CODES = 256
#: Largest number of distinct rows of a uint16-coded `CodedStencil` (`stored`): the
#: first coarse level of a viscous stencil has about 800 at 64^3 (level cut, pore
#: fraction 0.35), its 32^3 points a 16-byte float32 stencil otherwise.
WIDE_CODES = 1 << 16


@dataclass
class Component:
    """One velocity component: its faces, stencil and place in the flat vector.

    The active faces are those with ``marks != skip``: the coded stencil's codes and
    the code of its empty row (an active face's row never is: its diagonal is
    positive), so that no separate mask is kept; or a bool mask and False when the
    stencil is not coded.
    """

    axis: int
    shape: tuple[int, int, int]
    shift: int
    wrap: bool
    marks: np.ndarray
    skip: int | bool
    stencil: Stencil | CodedStencil
    volume: np.ndarray | None  # control volume per face, broadcast (None: 1 everywhere)
    offset: int
    size: int

    @property
    def active(self) -> np.ndarray:
        """The active faces (bool; made on each call)."""
        return self.marks != self.skip


def _active_faces(fluid: np.ndarray, c: int, mixed: bool, load: int | None) -> np.ndarray:
    """Active faces of component `c` (3-D fluid mask)."""
    if mixed and c == load:
        n = fluid.shape[c]
        pad = [(0, 0)] * 3
        pad[c] = (1, 1)
        ext = np.pad(fluid, pad, mode="edge")  # the boundary face sees its one cell twice
        lo = np.take(ext, range(0, n + 1), axis=c)
        hi = np.take(ext, range(1, n + 2), axis=c)
        return lo & hi
    active = fluid & np.roll(fluid, -1, axis=c)
    if mixed:
        index = [slice(None)] * 3
        index[c] = -1
        active[tuple(index)] = False
    return active


def build_stencil(
    active: np.ndarray,
    c: int,
    h: np.ndarray,
    ndim: int,
    *,
    mixed: bool,
    load: int | None,
    no_slip_walls: bool,
) -> tuple[Stencil, np.ndarray | None]:
    """The viscous stencil (unit viscosity) of component `c` on its faces `active`
    (float64 arrays; the operator keeps it as `stored` gives it).
    """
    shape = active.shape
    act = active
    if mixed and c == load:
        # the control volume per face, 1/2 on the inlet and outlet planes (broadcast
        # along the load axis: a column, not a field)
        volume = np.ones([n if a == c else 1 for a, n in enumerate(shape)])
        index = [slice(None)] * 3
        index[c] = 0
        volume[tuple(index)] = 0.5
        index[c] = -1
        volume[tuple(index)] = 0.5
    else:
        volume = None
    vol = 1.0 if volume is None else volume
    diag = np.zeros(shape)
    ws = []
    for b in range(3):
        if b >= ndim:
            ws.append(np.zeros(shape))
            continue
        coefficient = 1.0 / h[b] ** 2
        n = shape[b]
        position = np.arange(n).reshape([-1 if a == b else 1 for a in range(3)])
        plus = np.roll(act, -1, axis=b)
        minus = np.roll(act, 1, axis=b)
        # Does the neighbour face exist inside the domain (else it is outside)?
        wraps = (not mixed) or (b == c and c != load)
        if wraps:
            plus_in = np.ones_like(position, dtype=bool)
            minus_in = plus_in
        else:
            plus_in = position < n - 1
            minus_in = position > 0
        couple = act & plus & plus_in
        if b == c:
            w = coefficient * couple
            d = coefficient * (plus_in.astype(float) + minus_in.astype(float))
        else:
            w = coefficient * vol * couple
            if mixed and b == load:
                outside = 0.0  # inlet and outlet planes: zero normal derivative
            elif mixed:
                outside = 2.0 if no_slip_walls else 0.0
            else:
                outside = 0.0  # never reached: periodic neighbours always exist
            side = np.where(plus_in, np.where(plus, 1.0, 2.0), outside) + np.where(
                minus_in, np.where(minus, 1.0, 2.0), outside
            )
            d = coefficient * vol * side
        diag += d
        ws.append(np.ascontiguousarray(np.where(couple, w, 0.0)))
    diag = np.where(act, diag, 0.0)
    return Stencil(np.ascontiguousarray(diag), tuple(ws)), volume


def stored(stencil: Stencil) -> Stencil | CodedStencil:
    """`stencil` in the least memory that keeps every coefficient's bits: coded (one
    byte per point, `CodedStencil`) when at most `CODES` rows ``(diag, w0, w1, w2)``
    differ, two bytes when at most `WIDE_CODES` and a sixteenth of the points do (the
    table's 32 bytes a row then cost less than two bytes a point), else float32 when
    float32 holds every coefficient exactly, else as it is. The kernels read the
    coefficients as float64: the arithmetic is unchanged.
    """
    shape = stencil.diag.shape
    code = np.empty(shape, dtype=np.uint8)
    table = np.empty((CODES, 4))
    flat = [
        np.ascontiguousarray(a, dtype=np.float64).reshape(-1) for a in (stencil.diag, *stencil.w)
    ]
    count = code_rows(*flat, code.reshape(-1), table)
    del flat
    if count >= 0:
        # the rows in ascending (lexicographic) order, the codes renumbered to match
        table = table[:count]
        order = np.lexsort(table.T[::-1])
        rank = np.empty(count, dtype=np.uint8)
        rank[order] = np.arange(count, dtype=np.uint8)
        return CodedStencil(rank[code], np.ascontiguousarray(table[order]))
    del code, table
    wide = _wide_coded(stencil)
    if wide is not None:
        return wide
    arrays = (stencil.diag, *stencil.w)
    single = [a.astype(np.float32) for a in arrays]
    if all(np.array_equal(s, a) for s, a in zip(single, arrays, strict=True)):
        return Stencil(single[0], tuple(single[1:]))
    return stencil


def _wide_coded(stencil: Stencil) -> CodedStencil | None:
    """`stencil` with uint16 codes (rows in ascending lexicographic order, as
    `stored`'s), or None where more than ``min(WIDE_CODES, points // 16)`` rows
    differ.
    """
    points = stencil.diag.size
    rows = np.stack(
        [np.asarray(a, dtype=np.float64).reshape(-1) for a in (stencil.diag, *stencil.w)],
        axis=1,
    )
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(points, dtype=bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    count = int(np.count_nonzero(new))
    if count > min(WIDE_CODES, points // 16):
        return None
    table = np.ascontiguousarray(ordered[new])
    del ordered
    code = np.empty(points, dtype=np.uint16)
    code[order] = (np.cumsum(new) - 1).astype(np.uint16)
    return CodedStencil(code.reshape(stencil.diag.shape), table)


class StokesOperator:
    """The saddle-point matrix ``[[A, B^T], [B, 0]]`` of one load setup, matrix-free.

    The unknowns are one flat vector: the faces of every component (in order), then the
    cells; inactive faces and solid cells are zero rows and columns.
    """

    def __init__(
        self,
        fluid: np.ndarray,
        h: np.ndarray,
        ndim: int,
        *,
        mixed: bool = False,
        load: int | None = None,
        no_slip_walls: bool = True,
    ) -> None:
        self.fluid = np.ascontiguousarray(fluid, dtype=bool)
        self.h = h
        self.ndim = ndim
        self.mixed = mixed
        self.load = load
        self.components: list[Component] = []
        offset = 0
        for c in range(ndim):
            active = np.ascontiguousarray(_active_faces(self.fluid, c, mixed, load))
            stencil, volume = build_stencil(
                active, c, h, ndim, mixed=mixed, load=load, no_slip_walls=no_slip_walls
            )
            stencil = stored(stencil)  # one byte per face: the same coefficients
            shape = active.shape
            size = int(np.prod(shape))
            marks, skip = active, False
            if isinstance(stencil, CodedStencil):
                empty = np.flatnonzero(~stencil.table.any(axis=1))
                marks, skip = stencil.code, int(empty[0]) if empty.size else -1
                if not np.array_equal(marks != skip, active):
                    raise AssertionError("an active face has an empty stencil row")
            del active
            self.components.append(
                Component(
                    axis=c,
                    shape=shape,
                    shift=1 if (mixed and c == load) else 0,
                    wrap=not mixed,
                    marks=marks,
                    skip=skip,
                    stencil=stencil,
                    volume=volume,
                    offset=offset,
                    size=size,
                )
            )
            offset += size
        self.pressure_offset = offset
        self.cells = int(self.fluid.size)
        self.size = offset + self.cells
        # the compact vector: the active faces of every component, then the fluid cells
        counts = [int(c.active.sum()) for c in self.components] + [int(self.fluid.sum())]
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        self.segments = [
            slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)
        ]
        self.compact_size = int(starts[-1])
        self.work: list[np.ndarray] | None = None

    def allocate_work(self, count: int = 2) -> None:
        """Allocate `count` float64 work grids of the largest component (or cell) grid,
        shared by the compact operator, the preconditioner and the per-case figures.
        """
        size = max([self.cells] + [comp.size for comp in self.components])
        self.work = [np.empty(size) for _ in range(count)]

    def grid(self, index: int, shape: tuple[int, ...]) -> np.ndarray:
        """Work grid `index` (`allocate_work`) viewed with `shape`."""
        return self.work[index][: int(np.prod(shape))].reshape(shape)

    def mask(self, c: int | None) -> tuple[np.ndarray, int | bool]:
        """The unknowns of component `c` (None: the fluid cells) as a flat array and the
        value it holds off them (`Component`; the fluid: a bool mask and False).
        """
        if c is None:
            return self.fluid.reshape(-1), False
        comp = self.components[c]
        return comp.marks.reshape(-1), comp.skip

    def segment(self, x: np.ndarray, c: int | None) -> np.ndarray:
        """Component `c` (None: the pressure) of the compact vector `x`."""
        return x[self.segments[self.ndim if c is None else c]]

    def expand(self, x: np.ndarray) -> np.ndarray:
        """The full vector of the compact vector `x` (0 off the unknowns)."""
        full = np.empty(self.size)
        for comp in self.components:
            scatter_mask(
                self.segment(x, comp.axis),
                *self.mask(comp.axis),
                self.velocity(full, comp.axis).reshape(-1),
            )
        scatter_mask(self.segment(x, None), *self.mask(None), self.pressure(full).reshape(-1))
        return full

    def compress(self, full: np.ndarray) -> np.ndarray:
        """The compact vector of the full vector `full` (its entries on the unknowns)."""
        x = np.empty(self.compact_size)
        for comp in self.components:
            gather_mask(
                self.velocity(full, comp.axis).reshape(-1),
                *self.mask(comp.axis),
                self.segment(x, comp.axis),
                0.0,
                False,
            )
        gather_mask(
            self.pressure(full).reshape(-1), *self.mask(None), self.segment(x, None), 0.0, False
        )
        return x

    def apply_compact(
        self, x: np.ndarray, y: np.ndarray, a: float = 0.0, accumulate: bool = False
    ) -> None:
        """``y = K x`` on compact vectors, or with `accumulate` ``y = K x + a y`` (the
        bits of `apply` on the full vectors, then ``y += a y_old``), through two work
        grids (`allocate_work`): per component, its input (grid 1), its output (grid 0),
        the pressure (grid 1 again, scattered once the input is used) for the momentum
        rows; then the divergence (grid 0) of each component's input (1).
        """
        for comp in self.components:
            u = self.grid(1, comp.shape)
            v = self.grid(0, comp.shape)
            scatter_mask(self.segment(x, comp.axis), *self.mask(comp.axis), u.reshape(-1))
            comp.stencil.apply(u, v)
            p = self.grid(1, self.fluid.shape)
            scatter_mask(self.segment(x, None), *self.mask(None), p.reshape(-1))
            self._gradient(comp, p, v, 1.0)
            gather_mask(
                v.reshape(-1), *self.mask(comp.axis), self.segment(y, comp.axis), a, accumulate
            )
        q = self.grid(0, self.fluid.shape)
        q[...] = 0.0
        for comp in self.components:
            u = self.grid(1, comp.shape)
            scatter_mask(self.segment(x, comp.axis), *self.mask(comp.axis), u.reshape(-1))
            self._divergence(comp, u, q, -1.0)
        gather_mask(q.reshape(-1), *self.mask(None), self.segment(y, None), a, accumulate)

    def mean_velocity_compact(self, x: np.ndarray) -> np.ndarray:
        """`mean_velocity` of the compact vector `x` (the same sums, on a work grid)."""
        means = np.zeros(self.ndim)
        for comp in self.components:
            u = self.grid(0, comp.shape)
            scatter_mask(self.segment(x, comp.axis), *self.mask(comp.axis), u.reshape(-1))
            total = float(u.sum()) if comp.volume is None else float((u * comp.volume).sum())
            means[comp.axis] = total / self.cells
        return means

    def viscous_energy_compact(self, x: np.ndarray) -> float:
        """``u . A u`` of the compact vector `x` (`viscous_energy`, the same sums)."""
        total = 0.0
        for comp in self.components:
            u = self.grid(0, comp.shape)
            out = self.grid(1, comp.shape)
            scatter_mask(self.segment(x, comp.axis), *self.mask(comp.axis), u.reshape(-1))
            comp.stencil.apply(u, out)
            total += float(dot(u.reshape(-1), out.reshape(-1)))
        return total

    def divergence_compact(self, x: np.ndarray) -> np.ndarray:
        """`divergence` of the compact vector `x`, on work grid 1 (a view)."""
        q = self.grid(1, self.fluid.shape)
        q[...] = 0.0
        for comp in self.components:
            u = self.grid(0, comp.shape)
            scatter_mask(self.segment(x, comp.axis), *self.mask(comp.axis), u.reshape(-1))
            self._divergence(comp, u, q, 1.0)
        return q

    def support(self) -> np.ndarray:
        """Flat indices, ascending, of the unknowns: the active faces of every component,
        then the fluid cells (int32 while the vector has under 2^31 entries, else int64).
        """
        dtype = index_dtype(self.size)
        parts = [
            (np.flatnonzero(comp.active) + comp.offset).astype(dtype) for comp in self.components
        ]
        parts.append((np.flatnonzero(self.fluid) + self.pressure_offset).astype(dtype))
        return np.concatenate(parts)

    def velocity(self, x: np.ndarray, c: int) -> np.ndarray:
        """View of component `c` of the flat vector `x` on its face grid."""
        comp = self.components[c]
        return x[comp.offset : comp.offset + comp.size].reshape(comp.shape)

    def pressure(self, x: np.ndarray) -> np.ndarray:
        """View of the pressure of the flat vector `x` on the cells."""
        return x[self.pressure_offset :].reshape(self.fluid.shape)

    def apply(self, x: np.ndarray, y: np.ndarray) -> None:
        """``y = K x`` (K the symmetric saddle-point matrix)."""
        p = self.pressure(x)
        q = self.pressure(y)
        q[...] = 0.0
        for comp in self.components:
            u = self.velocity(x, comp.axis)
            v = self.velocity(y, comp.axis)
            comp.stencil.apply(u, v)
            self._gradient(comp, p, v, 1.0)
            self._divergence(comp, u, q, -1.0)

    def _gradient(self, comp: Component, p: np.ndarray, v: np.ndarray, sign: float) -> None:
        a = comp.axis
        gradient_add(
            np.moveaxis(p, a, 0),
            np.moveaxis(v, a, 0),
            1.0 / self.h[a],
            comp.shift,
            comp.wrap,
            np.moveaxis(comp.marks, a, 0),
            comp.skip,
            sign,
        )

    def _divergence(self, comp: Component, u: np.ndarray, q: np.ndarray, sign: float) -> None:
        a = comp.axis
        divergence_add(
            np.moveaxis(u, a, 0),
            np.moveaxis(q, a, 0),
            1.0 / self.h[a],
            comp.shift,
            comp.wrap,
            np.moveaxis(self.fluid, a, 0),
            sign,
        )

    def divergence(self, x: np.ndarray) -> np.ndarray:
        """The discrete divergence of the velocity of `x` on the cells (``-B u``)."""
        q = np.zeros(self.fluid.shape)
        for comp in self.components:
            u = self.velocity(x, comp.axis)
            self._divergence(comp, u, q, 1.0)
        return q

    def viscous_energy(self, x: np.ndarray, z: np.ndarray) -> float:
        """``u_x . A u_z`` (unit viscosity), summed in a fixed order (no BLAS threads)."""
        total = 0.0
        for comp in self.components:
            out = np.empty(comp.shape)
            comp.stencil.apply(self.velocity(z, comp.axis), out)
            total += float(dot(self.velocity(x, comp.axis).reshape(-1), out.reshape(-1)))
        return total

    def mean_velocity(self, x: np.ndarray) -> np.ndarray:
        """Superficial mean velocity per axis: the sum over the faces of ``u`` times the
        face's control volume, over the volume of the cell (solid included).
        """
        means = np.zeros(self.ndim)
        for comp in self.components:
            u = self.velocity(x, comp.axis)
            total = float(u.sum()) if comp.volume is None else float((u * comp.volume).sum())
            means[comp.axis] = total / self.cells
        return means

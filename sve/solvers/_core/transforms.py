"""Reference-medium preconditioners diagonalised by fast transforms (private).

The operator of a homogeneous medium is a sum of Kronecker products of 1-D
matrices, ``A_1 = sum_i S_i (x) prod_{j != i} M_j``: a 1-D stiffness ``S``
and a 1-D mass ``M`` per axis. On a uniform grid, each 1-D pair is
diagonalised by one trigonometric transform that depends only on the
boundary condition along that axis, with eigenvalues

    S(theta) = (2 - 2 cos theta) / h,   M(theta) = h (4 + 2 cos theta) / 6 (Q1)
                                        M(theta) = h                       (FV)

with ``h`` the voxel edge along that axis (``h_i`` in ``S_i``, ``h_j`` in
``M_j``: a box voxel changes the symbol, not the transforms), at angles
``theta`` listed below (``N`` voxels along the axis):

=========== ============ ===================== =========================
axis        unknowns     transform             theta_m
=========== ============ ===================== =========================
periodic    N            DFT                   2 pi m / N, m = 0..N-1
Q1 Dirichl. N - 1 nodes  DST-I                 pi m / N,   m = 1..N-1
Q1 Neumann  N + 1 nodes  DCT-I (+ weights)     pi m / N,   m = 0..N
FV Dirichl. N cells      DST-II                pi m / N,   m = 1..N
FV Neumann  N cells      DCT-II                pi m / N,   m = 0..N-1
=========== ============ ===================== =========================

Q1 Neumann needs care: the assembled 1-D matrices are ``S = W L`` and
``M = W Mt`` with ``W = diag(1/2, 1, ..., 1, 1/2)`` and ``L``, ``Mt`` the
matrices whose eigenvectors are the DCT-I vectors, so
``A_1^+ = C Lambda^+ C^-1 W^-1`` (``W`` the tensor product of the 1-D
weights). The pseudo-inverse drops the constant mode where it exists
(all-Neumann or all-periodic); the result is symmetric positive
semi-definite with the null space of ``A_1``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import numpy as np
import scipy.fft
from numba import njit

from sve.solvers._core.q1_geometry import zero_dirichlet_ends
from sve.solvers._core.spacing import per_axis
from sve.solvers._core.threads import in_concurrent_case

Apply = Callable[[np.ndarray, np.ndarray], None]

# (transform, type, first m, number of unknowns minus N) per (discretization, axis kind).
_TRANSFORMS = {
    ("q1", "dirichlet"): ("dst", 1, 1, -1),
    ("q1", "neumann"): ("dct", 1, 0, 1),
    ("fv", "dirichlet"): ("dst", 2, 1, 0),
    ("fv", "neumann"): ("dct", 2, 0, 0),
}


def unknowns(discretization: str, kind: str, n: int) -> int:
    """Number of unknowns along an axis of `n` voxels with boundary `kind`."""
    if kind == "periodic":
        return n
    return n + _TRANSFORMS[discretization, kind][3]


def _angles(discretization: str, kind: str, n: int) -> np.ndarray:
    if kind == "periodic":
        return 2.0 * np.pi * np.arange(n) / n
    first = _TRANSFORMS[discretization, kind][2]
    return np.pi * (first + np.arange(unknowns(discretization, kind, n))) / n


def symbol(
    discretization: str,
    kinds: tuple[str, ...],
    shape: tuple[int, ...],
    spacing: float | tuple[float, ...] | np.ndarray,
) -> np.ndarray:
    """Return the eigenvalues of the unit homogeneous operator, full spectrum.

    Parameters
    ----------
    discretization : {"q1", "fv"}
    kinds : tuple of {"periodic", "dirichlet", "neumann"}
        Boundary condition per axis.
    shape : tuple of int
        Voxels per axis ``(N0, ..., N_{d-1})``.
    spacing : float or sequence of float
        Voxel edges ``h_i`` per axis (one number: cubic voxels).

    Returns
    -------
    ndarray, float64
        ``sum_i S_i(theta_i) prod_{j != i} M_j(theta_j)`` on the grid of the
        transform coefficients (one axis per unknown count of `unknowns`).
    """
    ndim = len(shape)
    h = tuple(float(v) for v in per_axis(spacing, ndim))
    if int(np.prod(shape)) < SERIAL_POINTS:  # small: made once per case (read-only)
        return _cached_symbol(discretization, tuple(kinds), tuple(int(n) for n in shape), h)
    return _symbol(discretization, tuple(kinds), tuple(shape), np.asarray(h))


@functools.lru_cache(maxsize=32)
def _cached_symbol(discretization, kinds, shape, h) -> np.ndarray:
    """`symbol` of a small grid, kept: a study solves many images of one shape."""
    out = _symbol(discretization, kinds, shape, np.asarray(h))
    out.flags.writeable = False
    return out


def _factors(discretization, kinds, shape, h) -> tuple[list, list]:
    """The 1-D stiffness and mass eigenvalues of every axis (float64, one per unknown)."""
    stiffness, mass = [], []
    for axis, (kind, n) in enumerate(zip(kinds, shape, strict=True)):
        cos = np.cos(_angles(discretization, kind, n))
        stiffness.append((2.0 - 2.0 * cos) / h[axis])
        if discretization == "q1":
            mass.append(h[axis] * (4.0 + 2.0 * cos) / 6.0)
        else:
            mass.append(np.full(cos.size, float(h[axis])))
    return stiffness, mass


def _symbol(discretization, kinds, shape, h: np.ndarray) -> np.ndarray:
    """`symbol`'s arithmetic, `h` the voxel edges per axis."""
    ndim = len(shape)
    stiffness, mass = _factors(discretization, kinds, shape, h)
    for axis in range(ndim):
        broadcast = [1] * ndim
        broadcast[axis] = stiffness[axis].size
        stiffness[axis] = stiffness[axis].reshape(broadcast)
        mass[axis] = mass[axis].reshape(broadcast)
    total = 0.0
    for i in range(ndim):
        term = stiffness[i]
        for j in range(ndim):
            if j != i:
                term = term * mass[j]
        total = total + term
    return total


def _pseudo_inverse(values: np.ndarray) -> np.ndarray:
    inverse = np.zeros_like(values)
    np.divide(1.0, values, out=inverse, where=values > 1e-12 * values.max())
    return inverse


#: Transforms of fewer points than this run on one thread unless ``scipy.fft.set_workers``
#: asks for more: a 32**3 rfftn + irfftn pair took 1.8 times as long on 2 threads as on one
#: (thread hand-off costs more than the work), 64**2 3.0 times, 64**3 the same
#: (``benchmarks/bench_throughput.py``, loaded 2-core machine).
SERIAL_POINTS = 64**3


def fft_workers(points: int | None = None) -> int:
    """Threads for the transforms: the cores this process may run on.

    ``scipy.fft.set_workers`` overrides it (a context manager), e.g. to keep
    one thread per task when a study runs one solve per core. Without it a
    transform of fewer than `SERIAL_POINTS` `points` runs on one thread, and so does
    every transform of a load case solved beside others (``threads.run_cases``).
    """
    if in_concurrent_case():  # a load case beside others (``threads.run_cases``)
        return 1
    chosen = scipy.fft.get_workers()
    if chosen != 1:
        return chosen
    if points is not None and points < SERIAL_POINTS:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


try:  # pocketfft's transforms with an output argument (scipy >= 1.4)
    from scipy.fft._pocketfft.pypocketfft import c2c as _c2c
    from scipy.fft._pocketfft.pypocketfft import c2r as _c2r
    from scipy.fft._pocketfft.pypocketfft import r2c as _r2c
except ImportError:  # pragma: no cover - another scipy layout: the public paths below
    _c2c = _c2r = _r2c = None


@njit(cache=True, nogil=True)
def _largest_symbol(s0, m0, s1, m1, s2, m2, reference):
    """The largest ``reference * symbol`` over the grid of the 1-D factors (3 axes; a 2-D
    grid has a first axis of one unknown, stiffness 0 and mass 1: the same bits).
    """
    best = -np.inf
    for a in range(s0.size):
        for b in range(s1.size):
            for c in range(s2.size):
                value = reference * (
                    s0[a] * m1[b] * m2[c] + s1[b] * m0[a] * m2[c] + s2[c] * m0[a] * m1[b]
                )
                best = max(best, value)
    return best


@njit(cache=True, nogil=True)
def _divide_by_symbol(x, s0, m0, s1, m1, s2, m2, reference, floor, pairs):
    """``x[a, b, pairs c + e] *= 1 / (reference * symbol[a, b, c])`` (0 where the symbol is
    at most `floor`), the inverse rounded to the dtype of `x` first: the arithmetic of
    ``symbol``, ``_pseudo_inverse`` and ``astype`` in the same order, one point at a time,
    so no array of the symbol is kept. ``pairs=2``: `x` holds complex numbers as pairs of
    reals (the half spectrum in the memory of a real array).
    """
    cast = np.empty(1, x.dtype)
    for a in range(s0.size):
        for b in range(s1.size):
            for c in range(s2.size):
                value = reference * (
                    s0[a] * m1[b] * m2[c] + s1[b] * m0[a] * m2[c] + s2[c] * m0[a] * m1[b]
                )
                cast[0] = 1.0 / value if value > floor else 0.0
                for e in range(pairs):
                    x[a, b, pairs * c + e] = x[a, b, pairs * c + e] * cast[0]


@njit(cache=True, nogil=True)
def _expand(source, out, lo0, lo1, lo2, scale, descending):
    """``out[a + lo0, b + lo1, c + lo2] = source[a, b, c] * scale`` (in the dtype of
    `source`, then widened to that of `out`), where `source` may lie in the memory of `out`:
    in descending order where every entry's destination lies at or after its source in
    memory, ascending where at or before (each entry read before any write reaches it).
    """
    n0, n1, n2 = source.shape
    if descending:
        for a in range(n0 - 1, -1, -1):
            for b in range(n1 - 1, -1, -1):
                for c in range(n2 - 1, -1, -1):
                    out[a + lo0, b + lo1, c + lo2] = source[a, b, c] * scale
    else:
        for a in range(n0):
            for b in range(n1):
                for c in range(n2):
                    out[a + lo0, b + lo1, c + lo2] = source[a, b, c] * scale


def _kernel_factors(stiffness: list, mass: list) -> list:
    """``s0, m0, s1, m1, s2, m2``, the arguments of the symbol kernels: a 2-D grid gets a
    first axis of one unknown of stiffness 0 and mass 1 (the same products and sums).
    """
    if len(stiffness) == 2:
        stiffness, mass = [np.zeros(1)] + list(stiffness), [np.ones(1)] + list(mass)
    return [a for pair in zip(stiffness, mass, strict=True) for a in pair]


def _region(out: np.ndarray, count: int, dtype: np.dtype) -> np.ndarray | None:
    """The first `count` entries of `dtype` in the memory of `out` (C-contiguous floats), as a
    flat array, or None where `out` is not that large.
    """
    if (
        not out.flags.c_contiguous
        or out.dtype.kind != "f"
        or out.dtype.itemsize % dtype.itemsize
        or out.nbytes < count * dtype.itemsize
    ):
        return None
    return out.reshape(-1).view(dtype)[:count]


def preconditioner(
    discretization: str,
    kinds: tuple[str, ...],
    shape: tuple[int, ...],
    spacing: float | tuple[float, ...] | np.ndarray,
    reference: float,
    *,
    dtype: type = np.float64,
    free: tuple[slice, ...] | None = None,
) -> Apply:
    """Return ``apply(r, out, room=None)``: ``out = pinv(reference * A_1) r``.

    `r` and `out` are arrays of the unknowns (``unknowns`` per axis), or with
    `free` arrays of the nodes whose view ``[free]`` holds the unknowns (Q1
    Dirichlet axes: their end nodes, set to zero in `out`). All axes periodic
    uses real FFTs; otherwise every axis must be Dirichlet or Neumann and
    real trigonometric transforms are used, one call per transform type.

    No array of the image is kept: the symbol is computed where it is applied
    (``_divide_by_symbol``, from the 1-D factors of every axis, the bits of
    `symbol`), and the transforms run in place in the memory of `out`, which
    is written last: the real transforms in its first ``prod(unknowns)``
    entries of `dtype`, the periodic ones in its first ``prod(shape[:-1]) *
    (shape[-1] // 2 + 1)`` complex entries (the half spectrum, real rows
    padded to it; pocketfft transforms row by row through a buffer, so input
    and output may share each row), which a float64 `out` holds. `room`, a
    flat array of `dtype` that starts at the first byte of `out`, may offer
    more memory (a float32 `out` followed by spare room); otherwise an `out`
    too small gets a buffer of its own, made once. The transforms of
    ``scipy.fft`` run on `fft_workers` threads.

    `dtype` is the precision of the transforms: ``numpy.float32`` halves
    their memory traffic and is what the conjugate gradients use. The result
    is then ``pinv(reference * A_1) r`` up to a relative rounding of about
    ``1e-7``, a fixed SPD operator up to that rounding: conjugate gradients
    do not see the difference at any tolerance above about ``1e-12``
    (``tests/sve/solvers/test_conductivity.py`` checks 1e-10).
    """
    ndim = len(shape)
    axes = tuple(range(ndim))
    points = int(np.prod(shape))
    dtype = np.dtype(dtype)
    h = per_axis(spacing, ndim)
    reference = float(reference)
    spare = {}  # a buffer of its own, made only for an `out` that cannot hold the transforms

    def buffer(out, room, count):
        region = room if room is not None and room.size >= count else None
        if region is None:
            region = _region(out, count, dtype)
        if region is None:
            region = spare.setdefault(count, np.empty(count, dtype=dtype))
        return region[:count]

    if all(kind == "periodic" for kind in kinds):
        n = shape[-1]
        half = n // 2 + 1
        stiffness, mass = _factors(discretization, kinds, shape, h)
        stiffness[-1], mass[-1] = stiffness[-1][:half], mass[-1][:half]  # the half spectrum
        factors = _kernel_factors(stiffness, mass)
        floor = 1e-12 * _largest_symbol(*factors, reference)
        lead = shape[:-1]
        count = int(np.prod(lead, dtype=np.int64)) * 2 * half
        scale = dtype.type(1.0 / float(np.prod(shape, dtype=np.float64)))

        def apply_fft(r: np.ndarray, out: np.ndarray, room: np.ndarray | None = None) -> None:
            workers = fft_workers(points)
            padded = buffer(out, room, count).reshape(lead + (2 * half,))
            real = padded[..., :n]
            real[...] = r
            if _r2c is None:  # pragma: no cover - another scipy layout
                spectrum = scipy.fft.rfftn(real, axes=axes, workers=workers)
            else:
                spectrum = padded.view(np.complex64 if dtype == np.float32 else np.complex128)
                _r2c(real, axes, True, 0, spectrum, workers)
            pairs = spectrum.view(dtype).reshape((1,) * (3 - ndim) + spectrum.shape[:-1] + (-1,))
            _divide_by_symbol(pairs, *factors, reference, floor, 2)
            if ndim > 1:
                if _c2c is None:  # pragma: no cover
                    spectrum = scipy.fft.ifftn(
                        spectrum, axes=axes[:-1], norm="forward", overwrite_x=True,
                        workers=workers,
                    )  # fmt: skip
                else:
                    _c2c(spectrum, axes[:-1], False, 0, spectrum, workers)
            if _c2r is None:  # pragma: no cover
                result = scipy.fft.irfft(
                    spectrum, n=n, axis=ndim - 1, norm="forward", overwrite_x=True,
                    workers=workers,
                )  # fmt: skip
            else:
                result = _c2r(spectrum, (ndim - 1,), n, False, 0, real, workers)
            # scaled as pocketfft scales (one multiplication in `dtype`), then written into
            # `out`: after its source in memory when `out` is wider, before it otherwise
            three = (1,) * (3 - ndim)
            _expand(
                result.reshape(three + result.shape),
                out.reshape(three + out.shape),
                0, 0, 0, scale, out.dtype.itemsize > dtype.itemsize,
            )  # fmt: skip

        return apply_fft

    stiffness, mass = _factors(discretization, kinds, shape, h)
    factors = _kernel_factors(stiffness, mass)
    floor = 1e-12 * _largest_symbol(*factors, reference)
    unknown = tuple(a.size for a in stiffness)
    count = int(np.prod(unknown, dtype=np.int64))
    groups = {}  # (transform, type) -> axes, so that each group is one n-dimensional call
    for axis, kind in enumerate(kinds):
        groups.setdefault(_TRANSFORMS[discretization, kind][:2], []).append(axis)
    plan = [(name, kind, tuple(group)) for (name, kind), group in groups.items()]
    # W^-1: the end nodes of a Q1 Neumann axis carry half the 1-D weight; doubled in place
    # on the end slices (no array of weights: the same products, powers of 2).
    ends = []
    for axis, kind in enumerate(kinds):
        if (discretization, kind) == ("q1", "neumann"):
            for end in (0, -1):
                index = [slice(None)] * ndim
                index[axis] = end
                ends.append(tuple(index))
    if free is not None and all(f == slice(None) for f in free):
        free = None
    lows = (0,) * (3 - ndim)
    if free is not None:
        lows += tuple(0 if f.start is None else int(f.start) for f in free)
    else:
        lows += (0,) * ndim
    one = dtype.type(1.0)

    def apply_real(r: np.ndarray, out: np.ndarray, room: np.ndarray | None = None) -> None:
        workers = fft_workers(points)
        x = buffer(out, room, count).reshape(unknown)
        x[...] = r if free is None else r[free]
        for index in ends:
            x[index] *= 2.0
        for name, kind, group in plan:
            forward = scipy.fft.dstn if name == "dst" else scipy.fft.dctn
            x = forward(x, type=kind, axes=group, overwrite_x=True, workers=workers)
        _divide_by_symbol(x.reshape((1,) * (3 - ndim) + unknown), *factors, reference, floor, 1)
        for name, kind, group in plan:
            backward = scipy.fft.idstn if name == "dst" else scipy.fft.idctn
            x = backward(x, type=kind, axes=group, overwrite_x=True, workers=workers)
        if free is None and x.ctypes.data == out.ctypes.data and out.dtype == dtype:
            return  # the result is `out` itself
        three = (1,) * (3 - ndim)
        _expand(x.reshape(three + unknown), out.reshape(three + out.shape), *lows, one, True)
        if free is not None:
            zero_dirichlet_ends(out, kinds)

    return apply_real

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

from sve.solvers._core.spacing import per_axis

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


def _symbol(discretization, kinds, shape, h: np.ndarray) -> np.ndarray:
    """`symbol`'s arithmetic, `h` the voxel edges per axis."""
    ndim = len(shape)
    stiffness, mass = [], []
    for axis, (kind, n) in enumerate(zip(kinds, shape, strict=True)):
        cos = np.cos(_angles(discretization, kind, n))
        broadcast = [1] * ndim
        broadcast[axis] = cos.size
        stiffness.append(((2.0 - 2.0 * cos) / h[axis]).reshape(broadcast))
        if discretization == "q1":
            mass.append((h[axis] * (4.0 + 2.0 * cos) / 6.0).reshape(broadcast))
        else:
            mass.append(np.full(broadcast, h[axis]))
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
    transform of fewer than `SERIAL_POINTS` `points` runs on one thread.
    """
    chosen = scipy.fft.get_workers()
    if chosen != 1:
        return chosen
    if points is not None and points < SERIAL_POINTS:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


try:  # pocketfft's real inverse transform with an output argument (scipy >= 1.4)
    from scipy.fft._pocketfft.pypocketfft import c2r as _c2r
except ImportError:  # pragma: no cover - another scipy layout: the public path below
    _c2r = None


@njit(cache=True, nogil=True)
def _widen_in_place(narrow, wide):
    """``wide[i] = narrow[i]`` where `narrow` (float32) is the first half of the memory of
    `wide` (float64), in descending order: entry ``i`` of `wide` covers entries ``2 i``
    and ``2 i + 1 >= i`` of `narrow`, already read.
    """
    for i in range(wide.size - 1, -1, -1):
        wide[i] = narrow[i]


def irfftn_in_place(
    spectrum: np.ndarray, shape: tuple[int, ...], workers: int, out: np.ndarray | None = None
) -> np.ndarray:
    """``scipy.fft.irfftn(spectrum, s=shape)`` over every axis, the same bits, without its
    complex copy of `spectrum` (4 bytes per point in complex64): `spectrum` is destroyed.
    With `out` (C-contiguous, `shape`, the real dtype of `spectrum`) the result is written
    there (no array of its own either) and `out` is returned.

    pocketfft's multi-axis ``c2r`` copies the half-spectrum, runs the complex transforms
    of the leading axes on the copy and the real one of the last axis with the factor
    ``1 / prod(shape)``. Here the leading transforms run in place (unscaled: ``norm =
    "forward"``), then the last axis unscaled and one multiplication by the factor,
    rounded to the dtype as pocketfft rounds it: the same operations in the same order
    (``tests/sve/solvers/_core/test_transforms_memory.py`` checks the bits).
    """
    ndim = len(shape)
    if ndim > 1:
        spectrum = scipy.fft.ifftn(
            spectrum, axes=tuple(range(ndim - 1)), norm="forward", overwrite_x=True,
            workers=workers,
        )  # fmt: skip
    if out is not None and _c2r is not None:  # the same call scipy.fft.irfft makes, into out
        result = _c2r(spectrum, (ndim - 1,), shape[-1], False, 0, out, workers)
    else:
        result = scipy.fft.irfft(
            spectrum, n=shape[-1], axis=ndim - 1, norm="forward", overwrite_x=True,
            workers=workers,
        )  # fmt: skip
    result *= result.dtype.type(1.0 / float(np.prod(shape, dtype=np.float64)))
    return result


def _buffer_in(out: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """The first ``prod(shape)`` entries of `dtype` in the memory of `out` (C-contiguous, of
    `shape` and an item at least as wide as `dtype`), or None where it cannot hold them.

    The transform's input is copied there: `out` is written only at the end, from the
    inverse transform's own result, so it needs no buffer of its own (4 bytes per
    unknown saved).
    """
    if (
        out.shape != tuple(shape)
        or not out.flags.c_contiguous
        or out.dtype.itemsize < dtype.itemsize
        or out.dtype.itemsize % dtype.itemsize
        or out.dtype.kind != "f"
    ):
        return None
    return out.reshape(-1).view(dtype)[: out.size].reshape(shape)


def preconditioner(
    discretization: str,
    kinds: tuple[str, ...],
    shape: tuple[int, ...],
    spacing: float | tuple[float, ...] | np.ndarray,
    reference: float,
    *,
    dtype: type = np.float64,
) -> Apply:
    """Return ``apply(r, out)``: ``out = pinv(reference * A_1) r``.

    `r` and `out` are arrays of the unknowns (``unknowns`` per axis). All
    axes periodic uses real FFTs; otherwise every axis must be Dirichlet or
    Neumann and real trigonometric transforms are used, one call per
    transform type.
    The symbol and the buffers are made once here; the transforms of
    ``scipy.fft`` run on `fft_workers` threads, in place where they can. The
    periodic transforms take their input buffer from the memory of `out`
    (`_buffer_in`), which is written last, from the inverse transform's result.

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
    if all(kind == "periodic" for kind in kinds):
        full = symbol(discretization, kinds, shape, spacing)
        inverse = _pseudo_inverse(reference * full[..., : shape[-1] // 2 + 1]).astype(dtype)
        spare = {}  # a buffer of its own, made only for an `out` that cannot hold one

        def apply_fft(r: np.ndarray, out: np.ndarray) -> None:
            workers = fft_workers(points)
            buffer = _buffer_in(out, shape, dtype)  # `out` is overwritten anyway
            if buffer is None:
                buffer = spare.setdefault("buffer", np.empty(shape, dtype=dtype))
            buffer[...] = r
            spectrum = scipy.fft.rfftn(buffer, axes=axes, workers=workers, overwrite_x=True)
            np.multiply(spectrum, inverse, out=spectrum)
            if buffer.base is None or not np.shares_memory(buffer, out):
                out[...] = irfftn_in_place(spectrum, shape, workers)
            elif out.dtype == dtype:  # the buffer is `out` itself
                irfftn_in_place(spectrum, shape, workers, out=buffer)
            else:  # the result in the first half of `out`, widened in place
                irfftn_in_place(spectrum, shape, workers, out=buffer)
                _widen_in_place(buffer.reshape(-1), out.reshape(-1))

        return apply_fft

    inverse = _pseudo_inverse(reference * symbol(discretization, kinds, shape, spacing))
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
    inverse = inverse.astype(dtype)
    buffer = np.empty(inverse.shape, dtype=dtype)

    def apply_real(r: np.ndarray, out: np.ndarray) -> None:
        workers = fft_workers(points)
        buffer[...] = r
        x = buffer
        for index in ends:
            x[index] *= 2.0
        for name, kind, group in plan:
            forward = scipy.fft.dstn if name == "dst" else scipy.fft.dctn
            x = forward(x, type=kind, axes=group, overwrite_x=True, workers=workers)
        x *= inverse
        for name, kind, group in plan:
            backward = scipy.fft.idstn if name == "dst" else scipy.fft.idctn
            x = backward(x, type=kind, axes=group, overwrite_x=True, workers=workers)
        out[...] = x

    return apply_real

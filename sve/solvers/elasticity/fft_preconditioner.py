r"""Reference-medium preconditioners of the elasticity cell problems (private).

The Q1 operator of a homogeneous medium is, per pair of displacement
components ``(c, d)``, ``A_cd = sum_ij C0_cidj S_ij`` with ``S_ij`` the
assembled matrices of ``int dN_a/dx_i dN_b/dx_j``. Per axis they are Kronecker
products of the 1-D stiffness ``K``, mass ``M`` and first-moment matrix
``D = int N_a' N_b`` (see ``conductivity/q1.py`` and ``_core/transforms.py``). On a periodic
grid the DFT diagonalises ``K``, ``M`` and ``D`` (``D`` has the symbol
``-i sin(theta)``), hence per wave vector ``theta``

.. math:: S_{ii} = K(\theta_i) \prod_{k \ne i} M(\theta_k), \quad
          S_{ij} = \sin\theta_i \sin\theta_j \prod_{k \ne i, j} M(\theta_k),

``K = (2 - 2 cos theta) / h``, ``M = h (4 + 2 cos theta) / 6`` with ``h``
the voxel edge of that axis (``h_i`` in ``K(theta_i)``, ``h_k`` in
``M(theta_k)``; ``D`` is free of it): a real
symmetric d x d block ``A(theta)``, inverted per frequency (the zero
frequency, the rigid translations, is dropped).

Bounded grids (kinematic, static, mixed conditions) use the block-diagonal
part ``A_cc = mu0 sum_i S_ii + (lam0 + mu0) S_cc`` only, diagonalised per
component by the sine transform DST-I along the axes where that component
is fixed on both faces and the cosine transform DCT-I (with the end-node
weights of ``_core/transforms.py``) along the others. For an isotropic reference
and a fluctuation that vanishes (kinematic) or has zero normal component
(mixed) on the faces, ``int 2 eps:eps = int grad u:grad u + int (div u)**2``,
so this block-diagonal operator is spectrally equivalent to the full one
with constants that do not depend on the resolution; under static
conditions Korn's inequality on the cube plays that role once the rigid
modes are projected out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import scipy.fft

from sve.solvers._core.spacing import per_axis
from sve.solvers._core.threads import threaded
from sve.solvers._core.transforms import fft_workers
from sve.solvers.elasticity.q1_kernels import multiply_blocks

Apply = Callable[[np.ndarray, np.ndarray], None]


def _parallel(size: int) -> int:
    return threaded(size)


def _one_d(theta: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cos = np.cos(theta)
    return (2.0 - 2.0 * cos) / spacing, spacing * (4.0 + 2.0 * cos) / 6.0, np.sin(theta)


def _s_blocks(thetas: list[np.ndarray], spacing: float | np.ndarray) -> np.ndarray:
    """``S_ij(theta)`` on the tensor grid of `thetas`, shape grid + (d, d); `spacing` the
    voxel edges per axis (one number: cubic voxels).
    """
    ndim = len(thetas)
    h = per_axis(spacing, ndim)
    k, m, s = [], [], []
    for axis, theta in enumerate(thetas):
        shape = [1] * ndim
        shape[axis] = theta.size
        kk, mm, ss = _one_d(theta, h[axis])
        k.append(kk.reshape(shape))
        m.append(mm.reshape(shape))
        s.append(ss.reshape(shape))
    grid = tuple(theta.size for theta in thetas)
    out = np.empty(grid + (ndim, ndim))
    for i in range(ndim):
        for j in range(ndim):
            term = k[i] if i == j else s[i] * s[j]
            for q in range(ndim):
                if q != i and q != j:
                    term = term * m[q]
            out[..., i, j] = np.broadcast_to(term, grid)
    return out


def periodic_preconditioner(
    shape: tuple[int, ...],
    spacing: float | np.ndarray,
    c0: np.ndarray,
    *,
    dtype: type = np.float32,
) -> Apply:
    """``apply(r, out)``: ``out = pinv(A0) r`` for nodal vectors (shape + (d,)).

    `c0` is the reference stiffness as a full 4th-order tensor (d, d, d, d).
    One real FFT pair over the spatial axes of all d components
    (``scipy.fft`` on ``fft_workers`` threads, as for conductivity) and the
    d x d product per wave vector in a Numba kernel (``multiply_blocks``).

    `dtype` is the precision of the transforms and of the symbol: ``numpy.float32``
    (the default) halves their memory traffic, as for conductivity
    (``_core/transforms.py``); the result is then ``pinv(A0) r`` up to a relative
    rounding of about ``1e-7``, a fixed SPD operator up to that rounding, which
    conjugate gradients do not see at the tolerances used (the 64^3 benchmark tensor
    moved by 1e-9 relative, the iterations not at all).
    """
    ndim = len(shape)
    axes = tuple(range(ndim))
    thetas = [2.0 * np.pi * np.arange(n) / n for n in shape[:-1]]
    thetas.append(2.0 * np.pi * np.arange(shape[-1] // 2 + 1) / shape[-1])
    s = _s_blocks(thetas, spacing)
    block = np.einsum("cidj,...ij->...cd", c0, s)
    block[(0,) * ndim] = np.eye(ndim)  # rigid translations: set to 0 below
    inverse = np.linalg.inv(block)
    inverse[(0,) * ndim] = 0.0
    inverse = np.ascontiguousarray(inverse.reshape(-1, ndim, ndim).astype(dtype))
    # The single-precision copy of the residual, one per thread that applies it: load
    # cases solved side by side (``threads.run_cases``) share the symbol, not the buffer.
    local = threading.local()

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        workers = fft_workers()
        buffer = getattr(local, "buffer", None)
        if buffer is None:
            buffer = local.buffer = np.empty(tuple(shape) + (ndim,), dtype=dtype)
        buffer[...] = r
        spectrum = scipy.fft.rfftn(buffer, axes=axes, workers=workers)
        multiply_blocks[_parallel(spectrum.size)](spectrum.reshape(-1, ndim), inverse)
        out[...] = scipy.fft.irfftn(
            spectrum, s=shape, axes=axes, workers=workers, overwrite_x=True
        )

    return apply


def bounded_preconditioner(
    kinds: tuple[tuple[str, ...], ...],
    shape: tuple[int, ...],
    spacing: float | np.ndarray,
    lam0: float,
    mu0: float,
) -> Apply:
    """``apply(r, out)`` on the (N + 1)**d node grid, block-diagonal reference operator.

    ``kinds[c][i]`` is ``"dirichlet"`` (component ``c`` fixed on both faces
    normal to axis ``i``) or ``"neumann"`` (free there). Fixed nodes of `out`
    are set to zero.
    """
    ndim = len(shape)
    plans = []
    for c in range(ndim):
        thetas, free = [], []
        for kind, n in zip(kinds[c], shape, strict=True):
            if kind == "dirichlet":
                thetas.append(np.pi * np.arange(1, n) / n)
                free.append(slice(1, -1))
            else:
                thetas.append(np.pi * np.arange(0, n + 1) / n)
                free.append(slice(None))
        s = _s_blocks(thetas, spacing)
        trace = np.einsum("...ii->...", s)
        symbol = mu0 * trace + (lam0 + mu0) * s[..., c, c]
        inverse = np.zeros_like(symbol)
        np.divide(1.0, symbol, out=inverse, where=symbol > 1e-12 * symbol.max())
        weight = np.ones(symbol.shape)
        for axis, kind in enumerate(kinds[c]):
            if kind == "neumann":
                ends = [slice(None)] * ndim
                for end in (0, -1):
                    ends[axis] = end
                    weight[tuple(ends)] *= 2.0
        dst = tuple(a for a in range(ndim) if kinds[c][a] == "dirichlet")
        dct = tuple(a for a in range(ndim) if kinds[c][a] == "neumann")
        plans.append((tuple(free), inverse, weight, dst, dct))

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        out[...] = 0.0
        for c, (free, inverse, weight, dst, dct) in enumerate(plans):
            x = r[free + (c,)] * weight
            if dst:
                x = scipy.fft.dstn(x, type=1, axes=dst, overwrite_x=True)
            if dct:
                x = scipy.fft.dctn(x, type=1, axes=dct, overwrite_x=True)
            x *= inverse
            if dct:
                x = scipy.fft.idctn(x, type=1, axes=dct, overwrite_x=True)
            if dst:
                x = scipy.fft.idstn(x, type=1, axes=dst, overwrite_x=True)
            out[free + (c,)] = x

    return apply


def rigid_modes(node_shape: tuple[int, ...], spacing: float | np.ndarray) -> np.ndarray:
    """Orthonormal basis of the rigid-body displacements on a node grid.

    Returns an array of shape (r,) + node_shape + (d,), r = 3 (2-D) or 6 (3-D). The
    rotations are those of the physical positions, ``h_i`` times the node index along
    axis ``i`` (`spacing` per axis).
    """
    ndim = len(node_shape)
    h = per_axis(spacing, ndim)
    x = np.stack(
        np.meshgrid(*[h[a] * np.arange(n) for a, n in enumerate(node_shape)], indexing="ij")
    )
    x -= x.reshape(ndim, -1).mean(axis=1).reshape((ndim,) + (1,) * ndim)
    modes = []
    for c in range(ndim):
        mode = np.zeros(node_shape + (ndim,))
        mode[..., c] = 1.0
        modes.append(mode)
    for p in range(ndim):
        for q in range(p + 1, ndim):
            mode = np.zeros(node_shape + (ndim,))
            mode[..., p] = -x[q]
            mode[..., q] = x[p]
            modes.append(mode)
    matrix = np.array([mode.reshape(-1) for mode in modes]).T
    basis, _ = np.linalg.qr(matrix)
    return np.ascontiguousarray(basis.T.reshape((len(modes),) + node_shape + (ndim,)))

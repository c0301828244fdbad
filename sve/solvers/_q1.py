"""Q1 voxel finite elements: element stiffness, periodic symbol, preconditioner.

The element stiffness of unit conductivity on a voxel of edge ``h`` is the
tensor-product sum

    Ke = sum_i  A_0 (x) ... (x) A_{d-1},   A_j = K1 if j == i else M1,

of the 1-D element stiffness ``K1 = [[1, -1], [-1, 1]] / h`` and mass
``M1 = [[2, 1], [1, 2]] h / 6``. Both are diagonalised by the 2-point
Hadamard matrix ``H = [[1, 1], [1, -1]]`` (``H @ H = 2 I``): ``K1`` has the
eigenvalues ``0`` on the mean and ``2 / h`` on the difference, ``M1`` has
``h / 2`` and ``h / 6``. Hence ``Ke = H_d diag(lambda) H_d / 2**d`` with
``H_d`` the d-fold Kronecker power of ``H`` and, for a mode ``beta`` in
``{0, 1}**d`` (1 = difference along that axis),

    lambda(beta) = sum_i kappa(beta_i) prod_{j != i} mu(beta_j),
    kappa = (0, 2 / h),  mu = (h / 2, h / 6).

Assembled on a periodic grid, ``K1`` and ``M1`` become circulant with symbols
``(2 - 2 cos theta) / h`` and ``h (4 + 2 cos theta) / 6``, so the periodic
operator of a homogeneous medium is diagonal in the discrete Fourier basis
with the same sum-of-products formula, evaluated at the angles
``theta_i = 2 pi m_i / N_i``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


def corner_offsets(ndim: int) -> np.ndarray:
    """Return the corner offsets of a voxel, shape (2**ndim, ndim), int64.

    Row ``a`` holds the binary digits of ``a``, axis 0 the most significant
    (the node order of ``numpy.kron`` and of the kernels).
    """
    return np.array(list(itertools.product((0, 1), repeat=ndim)), dtype=np.int64)


def element_modes(ndim: int, spacing: float) -> np.ndarray:
    """Return the Hadamard eigenvalues of the unit Q1 element stiffness.

    Parameters
    ----------
    ndim : int
        2 or 3.
    spacing : float
        Voxel edge ``h``.

    Returns
    -------
    ndarray of shape (2**ndim,), float64
        ``lambda(beta) / 2**ndim`` for the modes ``beta`` in the order of
        `corner_offsets`, so that ``Ke = H_d diag(result) H_d``.
    """
    kappa = np.array([0.0, 2.0 / spacing])
    mu = np.array([spacing / 2.0, spacing / 6.0])
    modes = np.zeros(2**ndim)
    for index, beta in enumerate(corner_offsets(ndim)):
        for i in range(ndim):
            term = kappa[beta[i]]
            for j in range(ndim):
                if j != i:
                    term *= mu[beta[j]]
            modes[index] += term
    return modes / 2**ndim


def periodic_symbol(shape: tuple[int, ...], spacing: float) -> np.ndarray:
    """Return the eigenvalues of the periodic Q1 operator of unit conductivity.

    Parameters
    ----------
    shape : tuple of int
        Periodic node grid ``(N0, N1[, N2])``.
    spacing : float
        Voxel edge ``h``.

    Returns
    -------
    ndarray of shape (N0, ..., N_{d-1} // 2 + 1), float64
        ``lambda(theta) = sum_i K1(theta_i) prod_{j != i} M1(theta_j)`` on the
        half-spectrum grid of ``numpy.fft.rfftn``; zero only at ``theta = 0``.
    """
    ndim = len(shape)
    stiffness = []
    mass = []
    for axis, n in enumerate(shape):
        freq = np.fft.rfftfreq(n) if axis == ndim - 1 else np.fft.fftfreq(n)
        cos = np.cos(2.0 * np.pi * freq)
        broadcast = [1] * ndim
        broadcast[axis] = cos.size
        stiffness.append(((2.0 - 2.0 * cos) / spacing).reshape(broadcast))
        mass.append((spacing * (4.0 + 2.0 * cos) / 6.0).reshape(broadcast))
    symbol = 0.0
    for i in range(ndim):
        term = stiffness[i]
        for j in range(ndim):
            if j != i:
                term = term * mass[j]
        symbol = symbol + term
    return symbol


def fft_preconditioner(
    shape: tuple[int, ...], spacing: float, reference: float
) -> Callable[[np.ndarray, np.ndarray], None]:
    """Return ``apply(r, out)``: ``out = pinv(A_ref) r`` by real FFTs.

    ``A_ref`` is the periodic Q1 operator of the homogeneous medium of
    conductivity `reference`. Its null space (constants) is removed: ``out``
    has zero mean. The symbol and the spectrum buffer are made once here.
    """
    symbol = reference * periodic_symbol(shape, spacing)
    inverse = np.zeros_like(symbol)
    np.divide(1.0, symbol, out=inverse, where=symbol > 0.0)
    spectrum = np.empty(symbol.shape, dtype=np.complex128)
    axes = tuple(range(len(shape)))

    def apply(r: np.ndarray, out: np.ndarray) -> None:
        np.fft.rfftn(r, axes=axes, out=spectrum)
        np.multiply(spectrum, inverse, out=spectrum)
        np.fft.irfftn(spectrum, s=shape, axes=axes, out=out)

    return apply

r"""Two-point probability function by FFT, periodic or in a window, and radial averages."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft

from sve._validation import check_bool, check_phases, check_spacing, indicator


def two_point_probability(
    phases: ArrayLike, phase: int = 1, *, periodic: bool = True
) -> NDArray[np.float64]:
    r"""Two-point probability :math:`S_2(h)` of one phase, at every lag vector, by FFT.

    Parameters
    ----------
    phases : array_like of int or bool, shape (N0,), (N0, N1) or (N0, N1, N2)
        Phase labels of one image, >= 2 voxels per axis.
    phase : int, default 1
        The phase whose indicator :math:`I(x)` is correlated.
    periodic : bool, default True
        True: the image is one period of a periodic medium (lags wrap around).
        False: the image is a window of a larger medium; each lag averages only
        over the pairs of voxels that both lie in the window.

    Returns
    -------
    ndarray of float64
        Periodic: shape ``phases.shape``; window: shape ``(2 N0 - 1, ...)``.
        Entries are in FFT order: the lag along axis ``a`` of index ``k`` is
        ``numpy.fft.fftfreq(M_a, 1 / M_a)[k]`` voxels (``M_a`` the output
        length), so ``S2[0, ...]`` is the volume fraction and negative lags
        sit at the end. Dimensionless.

    Notes
    -----
    Periodic estimator, with :math:`N` voxels and the discrete Fourier transform
    :math:`\hat I`:

    .. math::

        S_2(h) = \frac{1}{N} \sum_x I(x)\, I(x + h)
               = \frac{1}{N} \mathcal{F}^{-1}\big[\lvert \hat I \rvert^2\big](h),

    one real forward and one real inverse transform. Window estimator: the
    image is zero-padded to at least :math:`2N_a - 1` per axis (no wrap-around)
    and the sum is divided by the number of pairs in the window,
    :math:`\prod_a (N_a - \lvert h_a \rvert)` [1]_, an unbiased estimator at
    every lag, noisy at lags close to the window size.

    References
    ----------
    .. [1] S. Torquato, *Random Heterogeneous Materials: Microstructure and
       Macroscopic Properties*, Springer, 2002, chapter 2.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[1, 0], [0, 0]])
    >>> two_point_probability(image)
    array([[0.25, 0.  ],
           [0.  , 0.  ]])
    """
    image = check_phases(phases, ndims=(1, 2, 3), allow_bool=True, nonnegative=False)
    mask = indicator(image, phase).astype(np.float64)
    periodic = check_bool(periodic, "periodic")
    if periodic:
        return autocorrelation(mask, periodic=True) / mask.size
    return autocorrelation(mask, periodic=False) / window_pair_counts(mask.shape)


def autocorrelation(values: np.ndarray, *, periodic: bool) -> np.ndarray:
    r"""Raw sums :math:`\sum_x v(x) v(x + h)` at every lag, in FFT order (private helper)."""
    shape = values.shape
    axes = tuple(range(values.ndim))
    if periodic:
        spectrum = fft.rfftn(values, axes=axes)
        power = spectrum.real**2
        power += spectrum.imag**2
        del spectrum
        return fft.irfftn(power, s=shape, axes=axes)
    padded = tuple(fft.next_fast_len(2 * n - 1, real=True) for n in shape)
    spectrum = fft.rfftn(values, s=padded, axes=axes)
    power = spectrum.real**2
    power += spectrum.imag**2
    del spectrum
    full = fft.irfftn(power, s=padded, axes=axes)
    keep = np.ix_(*(np.r_[0:n, p - n + 1 : p] for n, p in zip(shape, padded, strict=True)))
    return full[keep]


def window_pair_counts(shape: tuple[int, ...]) -> np.ndarray:
    r"""Number of voxel pairs :math:`\prod_a (N_a - |h_a|)` at every window lag, FFT order."""
    counts = np.ones((1,) * len(shape))
    for axis, n in enumerate(shape):
        lag = np.abs(lag_index(2 * n - 1))
        counts = counts * (n - lag).reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return counts


def lag_index(length: int) -> np.ndarray:
    """Signed lag, in voxels, of each index of an FFT-ordered axis of ``length`` entries."""
    return np.fft.fftfreq(length, 1.0 / length).round().astype(np.int64)


def lag_distance(shape: tuple[int, ...], spacing: tuple[float, ...]) -> np.ndarray:
    """Euclidean length of the lag vector of every entry of an FFT-ordered lag grid."""
    squared = sum(
        ((lag_index(n) * s) ** 2).reshape([-1 if a == axis else 1 for a in range(len(shape))])
        for axis, (n, s) in enumerate(zip(shape, spacing, strict=True))
    )
    return np.sqrt(squared)


class RadialProfile(NamedTuple):
    """Result of :func:`radial_average` (unpacks as ``radii, profile``)."""

    radii: NDArray[np.float64]
    """Shell centres, physical length units, increasing from 0."""
    profile: NDArray[np.float64]
    """Mean of the lag function over each shell."""


def radial_average(
    values: ArrayLike, *, spacing: float | tuple[float, ...] = 1.0, bin_width: float | None = None
) -> RadialProfile:
    r"""Average of a lag function over spherical shells of the lag length.

    Parameters
    ----------
    values : array_like of float, 1-D to 3-D
        A function of the lag in FFT order, e.g. from :func:`two_point_probability`.
    spacing : float or tuple of float, default 1.0
        Voxel edge length (one, or one per axis), in physical length units.
    bin_width : float, optional
        Width of the shells in physical length units; default the smallest
        spacing.

    Returns
    -------
    result : RadialProfile
        A named tuple; unpacks as ``radii, profile``. Fields:

        radii : ndarray of shape (M,), float64
            Shell centres :math:`k w`, physical length units, for the shells that
            hold at least one lag, increasing from 0.
        profile : ndarray of shape (M,), float64
            Mean of ``values`` over the lags :math:`h` with
            :math:`\operatorname{rint}(\lvert h \rvert / w) = k`.

    Notes
    -----
    For an isotropic medium the shell mean estimates :math:`S_2(r)`; in a
    window, the lags longer than half the window carry few pairs and scatter.

    Examples
    --------
    >>> import numpy as np
    >>> radial_average(np.arange(4.0))
    RadialProfile(radii=array([0., 1., 2.]), profile=array([0., 2., 2.]))
    >>> radii, profile = radial_average(np.arange(4.0))  # a named tuple unpacks
    """
    array = np.asarray(values, dtype=np.float64)
    if not 1 <= array.ndim <= 3:
        raise ValueError(f"values must be 1-D to 3-D, got {array.ndim}-D")
    steps = check_spacing(spacing, array.ndim)
    if bin_width is None:
        bin_width = min(steps)
    elif not (isinstance(bin_width, int | float) and np.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a finite number > 0, got {bin_width!r}")
    shell = np.rint(lag_distance(array.shape, steps) / bin_width).astype(np.int64).ravel()
    counts = np.bincount(shell)
    sums = np.bincount(shell, weights=array.ravel())
    held = counts > 0
    return RadialProfile(np.flatnonzero(held) * float(bin_width), sums[held] / counts[held])

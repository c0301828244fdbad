r"""Integral range of one image from its two-point function, with a jackknife uncertainty."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from sve._validation import (
    check_bool,
    check_confidence,
    check_phases,
    check_spacing,
    indicator,
    is_integer,
)
from sve.microstructure import labels_and_spacing
from sve.morphology.two_point import autocorrelation, lag_distance, window_pair_counts


class IntegralRangeEstimate(NamedTuple):
    """Integral range of one image with its uncertainty (physical length units to the power d)."""

    value: float
    """The estimate :math:`\\hat A` from the whole image."""
    standard_error: float
    """Delete-one-block jackknife standard error of ``value``."""
    low: float
    """Lower end of the confidence interval (Student t, replicates - 1 degrees of freedom)."""
    high: float
    """Upper end of the confidence interval."""
    radius: float
    """Truncation radius of the covariance integral, physical length units."""
    replicates: int
    """Number of jackknife replicates (blocks)."""


def integral_range(
    phases: ArrayLike,
    phase: int = 1,
    *,
    spacing: float | tuple[float, ...] | None = None,
    radius: float | None = None,
    periodic: bool = True,
    blocks: int | None = None,
    confidence: float = 0.95,
) -> IntegralRangeEstimate:
    r"""Matheron's integral range of the indicator of one phase, estimated from one image.

    Parameters
    ----------
    phases : array_like of int or bool, shape (N0,), (N0, N1) or (N0, N1, N2)
        Phase labels of one image, much larger than the correlation length.
    phase : int, default 1
        The phase whose indicator is used.
    spacing : float or tuple of float, default 1.0
        Voxel edge length (one, or one per axis), physical length units.
    radius : float, optional
        Truncation radius R of the covariance integral, physical length units,
        in (0, min_a N_a Δ_a / 2]. Default: the first shell radius at which the
        radial average of the sample covariance drops to zero or below (where
        the covariance reaches the noise), at most half the smallest edge.
    periodic : bool, default True
        The image is one period of a periodic medium (True) or a window.
    blocks : int, optional
        Blocks per axis of the jackknife, >= 2: :math:`k = \mathrm{blocks}^d`
        replicates; default 4 in 1-D and 2-D, 3 in 3-D.
    confidence : float in (0, 1), default 0.95
        Level of the two-sided interval.

    Returns
    -------
    IntegralRangeEstimate
        ``value``, ``standard_error``, ``low``, ``high`` (a d-volume in
        physical length units to the power d), ``radius``, ``replicates``.

    Notes
    -----
    The integral range of a stationary indicator with covariance
    :math:`C(h) = S_2(h) - \varphi^2` and variance :math:`\sigma^2 = C(0) =
    \varphi(1 - \varphi)` is [1]_, [2]_

    .. math:: A = \frac{1}{\sigma^2} \int_{\mathbb{R}^d} C(h)\, dh .

    The sample covariance :math:`\hat C(h)` of the indicator centred on its
    image mean sums to zero over all lags of a periodic image, so the
    integral is truncated to the ball :math:`\lvert h \rvert \le R` of
    :math:`n_B` lags. Centring on the sample mean lowers every
    :math:`\hat C(h)` by the variance of that mean,
    :math:`\approx \sigma^2 A / N` (N voxels, A in voxels), hence with
    :math:`r = \sum_{\lvert h \rvert \le R} \hat C(h) / \hat C(0)`

    .. math:: \hat A = \frac{r}{1 - (n_B - r) / N} \, \Delta V,

    which removes this bias to first order (:math:`\Delta V` the voxel
    volume); in a window the covariance is the overlap-normalized estimator of
    :func:`two_point_probability`. Lags beyond R are assumed uncorrelated:
    the truncation bias is :math:`-\sigma^{-2}\int_{\lvert h \rvert > R} C`.
    The errors of :math:`\hat C(h)` at neighbouring lags are strongly
    correlated, so for a Gaussian-like field the relative standard error is
    about :math:`\sqrt{2 n_B / N}` whatever A: a precise estimate needs an
    image much larger than the ball, and R no longer than the covariance
    needs (hence the default).

    The uncertainty is the delete-one-block jackknife [3]_: the image is cut
    into :math:`k` blocks and the estimator recomputed with each block
    masked out (masked pairs excluded from both the covariance sums and
    their pair counts), :math:`\widehat{\mathrm{var}} = \frac{k - 1}{k}
    \sum_i (\hat A_{(i)} - \bar A)^2`; blocks much larger than the
    correlation length make the replicates nearly independent. Cost:
    :math:`2(k + 1)` real FFT pairs of the (padded, in a window) image.

    References
    ----------
    .. [1] G. Matheron, *The theory of regionalized variables and its
       applications*, Les Cahiers du CMM de Fontainebleau 5, 1971.
    .. [2] C. Lantuéjoul, "Ergodicity and integral range", J. Microsc. 161(3),
       387-403, 1991.
    .. [3] H. R. Künsch, "The jackknife and the bootstrap for general stationary
       observations", Ann. Statist. 17(3), 1217-1241, 1989.

    Examples
    --------
    >>> import numpy as np
    >>> white = (np.random.default_rng(0).random((128, 128)) < 0.3).astype(int)
    >>> estimate = integral_range(white, radius=4.0)  # independent voxels: A = 1 voxel
    >>> bool(estimate.low < 1.0 < estimate.high), estimate.replicates
    (True, 16)
    """
    phases, spacing = labels_and_spacing(phases, spacing)
    image = check_phases(phases, ndims=(1, 2, 3), allow_bool=True, nonnegative=False)
    inside = indicator(image, phase).astype(np.float64)
    steps = check_spacing(spacing, image.ndim)
    periodic = check_bool(periodic, "periodic")
    confidence = check_confidence(confidence)
    largest = min(n * s for n, s in zip(image.shape, steps, strict=True)) / 2
    if radius is None:
        pass
    elif not isinstance(radius, numbers.Real) or isinstance(radius, bool | np.bool_):
        raise TypeError(f"radius must be a real number, got {radius!r}")
    elif not 0 < radius <= largest:
        raise ValueError(
            f"radius must be in (0, {largest:g}] (half the smallest image edge), got {radius!r}"
        )
    if blocks is None:
        blocks = 4 if image.ndim <= 2 else 3
    elif not is_integer(blocks):
        raise TypeError(f"blocks must be an integer, got {blocks!r}")
    elif not 2 <= blocks <= min(image.shape):
        raise ValueError(f"blocks must be in [2, {min(image.shape)}], got {blocks!r}")
    if not 0 < inside.mean() < 1:
        raise ValueError(f"phase {phase!r} must occupy some but not all voxels of the image")

    lag_shape = image.shape if periodic else tuple(2 * n - 1 for n in image.shape)
    distance = lag_distance(lag_shape, steps)
    if radius is None:
        radius = _first_zero(inside, distance, steps, periodic, largest)
    ball = distance <= radius
    cell = math.prod(steps)
    full = np.ones(image.shape)
    value = _estimate(inside, full, ball, periodic, masked=False) * cell
    edges = [np.linspace(0, n, blocks + 1).round().astype(int) for n in image.shape]
    replicates = []
    for index in itertools.product(range(blocks), repeat=image.ndim):
        mask = full.copy()
        mask[tuple(slice(e[k], e[k + 1]) for e, k in zip(edges, index, strict=True))] = 0.0
        replicates.append(_estimate(inside, mask, ball, periodic, masked=True) * cell)
    replicates = np.array(replicates)
    k = replicates.size
    error = math.sqrt((k - 1) / k * np.sum((replicates - replicates.mean()) ** 2))
    half = stats.t.ppf(0.5 + confidence / 2, k - 1) * error
    return IntegralRangeEstimate(
        value, error, float(value - half), float(value + half), float(radius), k
    )


def _first_zero(
    inside: np.ndarray, distance: np.ndarray, steps: tuple[float, ...], periodic: bool, cap: float
) -> float:
    """First shell radius where the radial average of the sample covariance is <= 0."""
    centred = inside - inside.mean()
    sums = autocorrelation(centred, periodic=periodic)
    pairs = inside.size if periodic else window_pair_counts(inside.shape)
    width = min(steps)
    shell = np.rint(distance / width).astype(np.int64).ravel()
    profile = np.bincount(shell, weights=(sums / pairs).ravel()) / np.maximum(
        np.bincount(shell), 1
    )
    below = np.flatnonzero(profile[1:] <= 0)
    return float(min(((below[0] + 1) * width) if below.size else cap, cap))


def _estimate(
    inside: np.ndarray, mask: np.ndarray, ball: np.ndarray, periodic: bool, masked: bool
) -> float:
    """Bias-corrected truncated covariance sum over C(0), in voxels."""
    n = mask.sum()
    centred = (inside - np.sum(inside * mask) / n) * mask
    sums = autocorrelation(centred, periodic=periodic)
    if masked:
        pairs = np.rint(autocorrelation(mask, periodic=periodic))
    else:
        pairs = np.full(sums.shape, n) if periodic else window_pair_counts(inside.shape)
    covariance = sums[ball] / pairs[ball]
    ratio = covariance.sum() / (sums.flat[0] / pairs.flat[0])
    return float(ratio / (1.0 - (ball.sum() - ratio) / n))
